/**
 * `npm start`: the chat demo from `www/` on one process, sessions in memory.
 * Port from `--port N`, else `PORT`, else 8080; host from `--host`, else `HOST`, else 0.0.0.0.
 * With `REDIS_URL` set, rooms and fan-out are shared with every other instance on that Redis
 * (a RedisAdapter); without it nothing leaves the process.
 */
import { parseArgs } from 'node:util';
import { buildDemoApp } from './demo/app.js';
import { RedisAdapter } from './adapters/redis/adapter.js';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' } },
  allowPositionals: false,
});
const port = Number(values.port ?? process.env.PORT ?? 8080);
const host = values.host ?? process.env.HOST ?? '0.0.0.0';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid port: ${values.port ?? process.env.PORT}`);
  process.exit(2);
}

// SIGINT/SIGTERM: drain every session (bounded by drainTimeoutMs), then close the app.
const build = async () => {
  const redisUrl = process.env.REDIS_URL;
  return buildDemoApp({
    logger: { level: process.env.LOG_LEVEL ?? 'info' },
    server: { handleSignals: true, ...(redisUrl ? { adapter: new RedisAdapter({ url: redisUrl }) } : {}) },
  });
};
const app = await build().catch((error: unknown) => {
  // A bad REDIS_URL or an unreachable Redis: one line, not a stack trace.
  console.error(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

await app.listen({ port, host });
