/**
 * Mounts what an operator uses — `/healthz`, `/readyz`, `/metrics`, `/dashboard` — on the
 * fastify instance the server is mounted on, each only when its option is on. They live in a
 * scope of their own, so they take the prefix the plugin was registered under and their form
 * parser never touches the application's routes.
 */
import type { FastifyInstance } from 'fastify';
import { AdminGate } from './admin.js';
import { mountDashboard } from './dashboard.js';
import { mountHealth } from './health.js';
import type { Metrics } from './metrics.js';
import { roomSizes } from './snapshot.js';
import type { OpsOptions, OpsSource } from './source.js';

/** Largest login form body. */
const LOGIN_BODY_BYTES = 4096;

/** Returns the function that stops the dashboard's timer (call it when the server closes). */
export async function mountOps(app: FastifyInstance, source: OpsSource, options: OpsOptions): Promise<() => void> {
  let stop = (): void => undefined;
  if (!options.health && !options.metrics && !options.dashboard) return stop;
  const gate = new AdminGate(options.adminToken, () => source.isLoopback());
  // prom-client (some 12 MiB of RSS with its dependencies) is loaded only when metrics are on.
  const metricsModule = options.metrics ? await import('./metrics.js') : null;
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: LOGIN_BODY_BYTES },
      (_request, body, done) => done(null, body),
    );
    if (options.health) mountHealth(scope, source);
    if (metricsModule !== null) mountMetrics(metricsModule.Metrics, scope, source, gate);
    if (options.dashboard) stop = mountDashboard(scope, source, gate);
  });
  return () => stop();
}

function mountMetrics(MetricsClass: typeof Metrics, scope: FastifyInstance, source: OpsSource, gate: AdminGate): void {
  const metrics = new MetricsClass({
    counters: source.counters,
    roomCount: () => roomSizes(source).length,
    adapterErrors: () => source.adapterErrors(),
  });
  scope.get('/metrics', async (request, reply) => {
    if (!gate.allows(request.raw)) {
      const message = gate.hasToken
        ? 'send the admin token as Authorization: Bearer <token>'
        : 'this server listens beyond loopback and has no adminToken: /metrics is closed';
      return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ code: 'ERR_UNAUTHORIZED', message });
    }
    const { body, contentType } = await metrics.scrape();
    return reply.type(contentType).header('Cache-Control', 'no-store').send(body);
  });
}
