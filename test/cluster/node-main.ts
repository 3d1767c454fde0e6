/**
 * Entry script of one cluster node, a process of its own (test/helpers/cluster.ts starts it
 * with `node --import tsx`). Configuration from argv, else the environment:
 *
 *   --name n1           NODE_NAME            unique node name (default: node-<pid>)
 *   --port 0            PORT                 0 = an ephemeral port (default 0)
 *   --host 127.0.0.1    HOST                 (default 127.0.0.1)
 *   --redis redis://…   REDIS_URL            required
 *   --options '{…}'     SWITCHYARD_OPTIONS   server options as JSON (default {})
 *   --mode cluster      NODE_MODE            cluster (sessions on Redis, the default) or fanout
 *   --node-ttl 2000     NODE_TTL_MS          redisCluster's nodeTtlMs (default: the library's)
 *
 * Once listening it prints exactly one line on stdout:
 *   SWITCHYARD_NODE_READY {"name":"n1","port":40123,"pid":4242}
 * and on a failure to start: `SWITCHYARD_NODE_FAILED <message>`, exit code 1. SIGTERM and
 * SIGINT close the server (bounded) and exit.
 */
import { parseArgs } from 'node:util';
import { createNodeServer, FAILED_PREFIX, READY_PREFIX } from './node-server.js';

const CLOSE_TIMEOUT_MS = 3_000;

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    redis: { type: 'string' },
    options: { type: 'string' },
    mode: { type: 'string' },
    'node-ttl': { type: 'string' },
  },
  allowPositionals: false,
});

function fail(message: string): never {
  process.stdout.write(`${FAILED_PREFIX}${message}\n`);
  process.exit(1);
}

function parseJson(text: string | undefined, what: string): Record<string, unknown> {
  if (text === undefined || text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below with the option's name.
  }
  return fail(`${what} must be a JSON object`);
}

function nodeTtl(text: string | undefined): { nodeTtlMs?: number } {
  if (text === undefined) return {};
  const nodeTtlMs = Number(text);
  return Number.isInteger(nodeTtlMs) && nodeTtlMs >= 100 ? { nodeTtlMs } : fail(`invalid --node-ttl: ${text}`);
}

const name = values.name ?? process.env.NODE_NAME ?? `node-${process.pid}`;
const port = Number(values.port ?? process.env.PORT ?? 0);
const host = values.host ?? process.env.HOST ?? '127.0.0.1';
const redisUrl = values.redis ?? process.env.REDIS_URL ?? fail('no Redis: pass --redis or set REDIS_URL');
if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`invalid port: ${String(port)}`);

const server = (() => {
  try {
    return createNodeServer({
      name,
      redisUrl,
      serverOptions: parseJson(values.options ?? process.env.SWITCHYARD_OPTIONS, '--options'),
      mode: (values.mode ?? process.env.NODE_MODE) === 'fanout' ? 'fanout' : 'cluster',
      ...nodeTtl(values['node-ttl'] ?? process.env.NODE_TTL_MS),
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();

const onSignal = (): void => {
  setTimeout(() => process.exit(1), CLOSE_TIMEOUT_MS).unref();
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', onSignal);
process.once('SIGINT', onSignal);

try {
  await server.listen({ port, host });
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
const address = server.httpServer?.address();
const listening = typeof address === 'object' && address !== null ? address.port : port;
process.stdout.write(`${READY_PREFIX}${JSON.stringify({ name, port: listening, pid: process.pid })}\n`);
