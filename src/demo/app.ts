/**
 * The chat demo as a fastify app: the page and assets of `www/`, the legacy resource with
 * the real 0.6 client, and the chat logic. `npm start` listens with it; tests start it on
 * port 0. Unknown paths answer 404 with the library's `{code, message}` JSON, like a
 * standalone server's.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerOptions } from '../options.js';
import { switchyard } from '../server.js';
import { installChat } from './chat.js';
import { fastifyHttpOptions, installJsonFallbacks } from '../http/limits.js';

export interface DemoAppOptions {
  /** Options of the legacy resource (heartbeats, windows, …). */
  readonly server?: ServerOptions;
  /** fastify's (pino) logger option. Default false. */
  readonly logger?: FastifyServerOptions['logger'];
}

/** Builds the demo app, ready to `listen()`; `app.switchyard` is its server. */
export async function buildDemoApp(options: DemoAppOptions = {}): Promise<FastifyInstance> {
  // The demo faces the network: the same header-size and timeout limits as createServer().
  const app = Fastify({ logger: options.logger ?? false, ...fastifyHttpOptions() });
  installJsonFallbacks(app);
  await app.register(fastifyStatic, { root: fileURLToPath(new URL('../../www/', import.meta.url)) });
  await app.register(switchyard, options.server ?? {});
  installChat(app.switchyard);
  return app;
}
