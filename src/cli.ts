/**
 * `npm start`: the chat demo from `www/` on one process, sessions in memory.
 * Port from `--port N`, else `PORT`, else 8080; host from `--host`, else `HOST`, else 0.0.0.0.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { installChat } from './demo/chat.js';
import { fastifyHttpOptions } from './http-limits.js';
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

// The demo faces the network: the same header-size and timeout limits as createServer().
const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' }, ...fastifyHttpOptions() });
await app.register(fastifyStatic, { root: fileURLToPath(new URL('../www/', import.meta.url)) });
await app.register(switchyard, {});
installChat(app.switchyard);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down');
    void app.close().then(() => process.exit(0));
  });
}

await app.listen({ port, host });
