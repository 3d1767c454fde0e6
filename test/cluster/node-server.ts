/**
 * One cluster node of the cluster tests: the ONE place that builds a node's server
 * (`createNodeServer`), so that switching every cluster test to other server options is a
 * change here only. A node is a standalone server on the cluster's Redis: cluster sessions
 * (`redisCluster()`, the default) or fan-out only (`mode: 'fanout'`, RedisAdapter), plus a
 * small test application:
 *
 *   0.6 messages            every message is sent back to its session as it came (echo)
 *   GET  /test/whoami       {name, pid, sessions, broadcastsSent}: which node answered
 *   GET  /test/session/:id  200 {name, transport, state} when that 0.6 session is on this node, else 404
 *   POST /test/broadcast    ?count=N&intervalMs=M&tag=T → 202 at once, then broadcasts the
 *                           texts "T:1" … "T:N" to every session of the cluster, one every M
 *                           ms (M = 0: all in one go); N ≤ 100 000, M ≤ 60 000, T defaults to "b"
 *   GET  /test/requests     what this node received on the 0.6 resource, oldest first, at
 *                           most 1 000: [{method, url, cookie}] (UPGRADE for websockets)
 *   GET  /legacy-test/...   the pages that run the real 0.6 client (test/helpers/legacy-page.ts)
 *   rooms, cluster-wide queries and presence: membership-routes.ts
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { RedisAdapter } from '../../src/adapters/redis/adapter.js';
import { redisCluster } from '../../src/adapters/redis/cluster.js';
import { createServer, type CreateServerOptions, type Switchyard } from '../../src/server.js';
import { serveLegacyPages } from '../helpers/legacy-page.js';
import { addMembershipRoutes } from './membership-routes.js';

export interface NodeConfig {
  /** Unique in the cluster: the Redis server name, and what `/test/whoami` answers. */
  name: string;
  redisUrl: string;
  /** Server options (JSON-serializable: no functions). */
  serverOptions?: CreateServerOptions;
  /** `cluster` (the default): sessions shared on Redis; `fanout`: RedisAdapter alone. */
  mode?: 'cluster' | 'fanout';
  /** redisCluster's nodeTtlMs (default: the library's). */
  nodeTtlMs?: number;
}

const MAX_BROADCASTS = 100_000;
const MAX_INTERVAL_MS = 60_000;
const MAX_RECORDED_REQUESTS = 1_000;
const REDIS_CONNECT_TIMEOUT_MS = 30_000;
/** The lines node-main.ts prints on stdout once listening, or when it cannot start. */
export const READY_PREFIX = 'SWITCHYARD_NODE_READY ';
export const FAILED_PREFIX = 'SWITCHYARD_NODE_FAILED ';

/** Builds (does not start) one node: the server, its adapter and the test application. */
export function createNodeServer(config: NodeConfig): Switchyard {
  // Nodes start side by side with a browser on two busy cores: give Redis time to answer.
  const redis = { url: config.redisUrl, connectTimeoutMs: REDIS_CONNECT_TIMEOUT_MS };
  const server = createServer({
    flashPolicyPort: false,
    // SWITCHYARD_CLUSTER_DEBUG=1: every node logs at debug level to stderr (the harness shows it).
    ...(process.env.SWITCHYARD_CLUSTER_DEBUG === '1' ? { logger: { level: 'debug' } } : {}),
    ...config.serverOptions,
    ...(config.mode === 'fanout'
      ? { adapter: new RedisAdapter({ ...redis, serverName: config.name }) }
      : {
          cluster: redisCluster({
            ...redis,
            nodeId: config.name,
            ...(config.nodeTtlMs === undefined ? {} : { nodeTtlMs: config.nodeTtlMs }),
          }),
        }),
  });
  const app = server.app;
  if (app === undefined) throw new Error('createServer() made a server without an app');
  server.onMessage((conn, data) => conn.send(data));
  // A broadcast to a session that just went is refused and counted: nothing to report here.
  server.on('error', () => undefined);
  serveLegacyPages(server);
  const broadcasts = addBroadcastRoute(app, server);
  app.get('/test/whoami', async () => ({
    name: config.name,
    pid: process.pid,
    sessions: server.connectionCount,
    broadcastsSent: broadcasts.sent,
  }));
  app.get<{ Params: { id: string } }>('/test/session/:id', async (request, reply) => {
    const conn = server.getConn(request.params.id);
    if (conn === undefined) return reply.code(404).send({ code: 'ERR_UNKNOWN_SESSION', message: 'not on this node' });
    return { name: config.name, transport: conn.transport, state: conn.state };
  });
  addRequestLog(app, server.options.resource);
  addMembershipRoutes(app, server);
  return server;
}

/** `POST /test/broadcast`: numbered broadcasts, paced by a timer the server's close stops. */
function addBroadcastRoute(app: FastifyInstance, server: Switchyard): { sent: number } {
  const state = { sent: 0 };
  const timers = new Set<NodeJS.Timeout>();
  app.addHook('onClose', async () => timers.forEach((timer) => clearTimeout(timer)));
  app.post<{ Querystring: Record<string, string | undefined> }>('/test/broadcast', async (request, reply) => {
    const count = Number(request.query.count ?? 1);
    const intervalMs = Number(request.query.intervalMs ?? 0);
    const tag = request.query.tag ?? 'b';
    if (!isInRange(count, 1, MAX_BROADCASTS) || !isInRange(intervalMs, 0, MAX_INTERVAL_MS) || tag.length > 64) {
      return reply.code(400).send({ code: 'ERR_BAD_REQUEST', message: 'count, intervalMs or tag out of range' });
    }
    let next = 1;
    const sendDue = (): void => {
      // intervalMs 0: the whole run now; otherwise one message per tick.
      do {
        server.broadcast(`${tag}:${next++}`);
        state.sent++;
      } while (intervalMs === 0 && next <= count);
      if (next <= count) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          sendDue();
        }, intervalMs);
        timers.add(timer);
      }
    };
    setImmediate(sendDue);
    return reply.code(202).send({ count, intervalMs, tag });
  });
  return state;
}

function isInRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Records every 0.6 request and upgrade with its Cookie header. */
function addRequestLog(app: FastifyInstance, resource: string): void {
  const seen: Array<{ method: string; url: string; cookie: string }> = [];
  const prefix = `/${resource}/`;
  const record = (req: IncomingMessage, method: string) => {
    if (!(req.url ?? '').startsWith(prefix)) return;
    seen.push({ method, url: req.url ?? '', cookie: req.headers.cookie ?? '' });
    if (seen.length > MAX_RECORDED_REQUESTS) seen.shift();
  };
  app.get('/test/requests', async () => seen);
  app.addHook('onRequest', (request, _reply, done) => {
    record(request.raw, request.method);
    done();
  });
  // Before the server's own upgrade listener: sees the request first.
  app.server.prependListener('upgrade', (req: IncomingMessage) => record(req, 'UPGRADE'));
}
