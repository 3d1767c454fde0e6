/**
 * One cluster node of the cluster tests: the ONE place that builds a node's server
 * (`createNodeServer`), so that switching every cluster test to other server options (the
 * cluster session store) is a change here only. Today a node is a standalone server whose
 * fan-out goes through Redis (RedisAdapter, fan-out only), plus a small test application:
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
 *
 * With `app.probeCookie`, every answer of the 0.6 resource, websocket upgrades included, sets
 * `sy_probe=<node>.<n>; Path=/<resource>; HttpOnly; SameSite=Lax`: a stand-in for the
 * session cookie the cluster core will set, so that the test clients' cookie jars can be
 * proven end to end before it exists.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { RedisAdapter } from '../../src/adapters/redis/adapter.js';
import { createServer, type CreateServerOptions, type Switchyard } from '../../src/server.js';
import { serveLegacyPages } from '../helpers/legacy-page.js';

/** Options of the test application (JSON, like everything a node is started with). */
export interface NodeAppOptions {
  /** Set the `sy_probe` cookie on every answer of the 0.6 resource. Default false. */
  probeCookie?: boolean;
}

export interface NodeConfig {
  /** Unique in the cluster: the Redis server name, and what `/test/whoami` answers. */
  name: string;
  redisUrl: string;
  /** Server options (JSON-serializable: no functions). */
  serverOptions?: CreateServerOptions;
  app?: NodeAppOptions;
}

const MAX_BROADCASTS = 100_000;
const MAX_INTERVAL_MS = 60_000;
const MAX_RECORDED_COOKIES = 1_000;
export const PROBE_COOKIE = 'sy_probe';
/** The lines node-main.ts prints on stdout once listening, or when it cannot start. */
export const READY_PREFIX = 'SWITCHYARD_NODE_READY ';
export const FAILED_PREFIX = 'SWITCHYARD_NODE_FAILED ';

/** Builds (does not start) one node: the server, its adapter and the test application. */
export function createNodeServer(config: NodeConfig): Switchyard {
  const server = createServer({
    flashPolicyPort: false,
    ...config.serverOptions,
    adapter: new RedisAdapter({ url: config.redisUrl, serverName: config.name }),
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
  addRequestLog(app, config, server.options.resource);
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

/** Records every 0.6 request and upgrade with its Cookie header; sets the probe cookie if asked. */
function addRequestLog(app: FastifyInstance, config: NodeConfig, resource: string): void {
  const seen: Array<{ method: string; url: string; cookie: string }> = [];
  const prefix = `/${resource}/`;
  let counter = 0;
  const nextCookie = () => `${PROBE_COOKIE}=${config.name}.${++counter}; Path=/${resource}; HttpOnly; SameSite=Lax`;
  const record = (req: IncomingMessage, method: string) => {
    if (!(req.url ?? '').startsWith(prefix)) return false;
    seen.push({ method, url: req.url ?? '', cookie: req.headers.cookie ?? '' });
    if (seen.length > MAX_RECORDED_COOKIES) seen.shift();
    return true;
  };
  app.get('/test/requests', async () => seen);
  app.addHook('onRequest', (request, reply, done) => {
    if (record(request.raw, request.method) && config.app?.probeCookie === true) {
      // Merged into the transport's own writeHead (setHeader before writeHead).
      (reply.raw as ServerResponse).setHeader('Set-Cookie', nextCookie());
    }
    done();
  });
  // Before the server's own upgrade listener: sees the request first.
  app.server.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => {
    if (record(req, 'UPGRADE') && config.app?.probeCookie === true) injectIntoSwitchingProtocols(socket, nextCookie());
  });
}

/**
 * Adds a `Set-Cookie` line to the `101 Switching Protocols` head that ws writes in one
 * piece, the first write on the socket; anything else passes untouched.
 */
function injectIntoSwitchingProtocols(socket: Duplex, setCookie: string): void {
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    socket.write = write as Duplex['write'];
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : undefined;
    if (text === undefined || !text.startsWith('HTTP/1.1 101') || !text.includes('\r\n\r\n')) {
      return write(chunk, ...rest);
    }
    return write(text.replace('\r\n\r\n', `\r\nSet-Cookie: ${setCookie}\r\n\r\n`), ...rest);
  }) as Duplex['write'];
}
