/**
 * `npm start`: the chat demo from `www/` on one process, sessions in memory.
 * Port from `--port N`, else `PORT`, else 8080; host from `--host`, else `HOST`, else 0.0.0.0.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { installChat } from './demo/chat.js';
import { switchyard } from './server.js';

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

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } });
await app.register(fastifyStatic, { root: fileURLToPath(new URL('../www/', import.meta.url)) });
// SIGINT/SIGTERM: drain every session (bounded by drainTimeoutMs), then close the app.
await app.register(switchyard, { handleSignals: true });
installChat(app.switchyard);

await app.listen({ port, host });
