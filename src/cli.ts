/**
 * `npm start`: the chat demo from `www/` on one process, sessions in memory.
 * Port from `--port N`, else `PORT`, else 8080; host from `--host`, else `HOST`, else 0.0.0.0.
 */
import { parseArgs } from 'node:util';
import { buildDemoApp } from './demo/app.js';

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
const app = await buildDemoApp({
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
  server: { handleSignals: true },
});

await app.listen({ port, host });
