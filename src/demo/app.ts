/**
 * The chat demo as a fastify app: the page and assets of `www/`, the legacy resource with
 * the real 0.6 client, and the chat logic. `npm start` (the `switchyard` command) listens
 * with it; tests start it on port 0. Unknown paths answer 404 with the library's
 * `{code, message}` JSON, like a standalone server's.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerOptions } from '../options.js';
import { switchyard } from '../server.js';
import { installChat } from './chat.js';
import { fastifyHttpOptions, installJsonFallbacks, type HttpLimitOptions } from '../http/limits.js';

export interface DemoAppOptions {
  /** Options of the Switchyard server (heartbeats, windows, metrics, …). */
  readonly server?: ServerOptions;
  /** The HTTP limits, as `createServer` takes them. Default: the library's. */
  readonly http?: HttpLimitOptions;
  /** fastify's (pino) logger option. Default false. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly https?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

/** Builds the demo app, ready to `listen()`; `app.switchyard` is its server. */
export async function buildDemoApp(options: DemoAppOptions = {}): Promise<FastifyInstance> {
  // The demo faces the network: the same header-size and timeout limits as createServer().
  // fastify's per-request lines are off: sessions and upgrades log their lifecycle at info,
  // and the 0.6 resource logs each request at debug.
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    ...fastifyHttpOptions(options.http),
    ...(options.https === undefined ? {} : { https: { ...options.https } }),
  }) as unknown as FastifyInstance;
  installJsonFallbacks(app);
  await app.register(fastifyStatic, { root: fileURLToPath(new URL('../../www/', import.meta.url)) });
  await app.register(switchyard, options.server ?? {});
  installChat(app.switchyard);
  return app;
}
