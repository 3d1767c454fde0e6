/**
 * `/healthz` and `/readyz`, for a load balancer or an orchestrator. Healthy: the process
 * answers (200 while it serves at all). Ready: it should be sent new clients — it listens,
 * is not draining or closed, and a configured broker adapter still forwards (a RedisAdapter
 * that lost Redis would give its clients a server that hears only itself), and in a cluster
 * the node's own standing there: its link up, its liveness written recently (a node whose
 * liveness lapsed is dead to the others, which take its sessions over).
 */
import type { FastifyInstance } from 'fastify';
import type { NotReady } from '../hub/cluster-view.js';
import type { OpsSource } from './source.js';

/** Why the server is not ready (a stable code and a reason), or undefined when it is. */
export function notReady(source: OpsSource): NotReady | undefined {
  const phase = source.shutdownPhase();
  if (phase !== 'serving') {
    return { code: 'ERR_SHUTTING_DOWN', reason: `the server is ${phase === 'draining' ? 'draining' : 'closed'}` };
  }
  if (!source.isListening()) return { code: 'ERR_NOT_READY', reason: 'the server is not listening yet' };
  const { adapter } = source;
  if ('isForwarding' in adapter && adapter.isForwarding === false) {
    return { code: 'ERR_ADAPTER_UNAVAILABLE', reason: 'the adapter has lost its broker' };
  }
  return source.cluster?.notReady();
}

export function mountHealth(scope: FastifyInstance, source: OpsSource): void {
  scope.get('/healthz', async (_request, reply) => reply.header('Cache-Control', 'no-store').send({ status: 'ok' }));
  scope.get('/readyz', async (_request, reply) => {
    const why = notReady(source);
    reply.header('Cache-Control', 'no-store');
    if (why === undefined) return reply.send({ status: 'ready' });
    return reply.code(503).send({ status: 'not ready', code: why.code, reason: why.reason });
  });
}
