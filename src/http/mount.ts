/**
 * Mounting on fastify: the 0.6 resource as one hijacked catch-all route (the resource reads
 * its own bodies, with a cap enforced while they stream), the fast path ahead of the router
 * for a standalone server, and the answer every request gets once a server has closed.
 * Nothing here knows a family: the handler is handed in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { RealtimeError } from '../errors.js';
import { sendError } from './replies.js';
import { redactLegacyUrl } from './router.js';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Registers `/<resource>/*` for every method the 0.6 transports (and their refusals) need. */
export async function mountResource(app: FastifyInstance, resource: string, handle: RawHandler): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.route({
      method: ['GET', 'HEAD', 'POST', 'OPTIONS', 'PUT', 'DELETE', 'PATCH'],
      url: `/${resource}/*`,
      exposeHeadRoute: false,
      // fastify's own per-request lines (info) would be one or two per poll: a few polling
      // clients drown the log. This route logs its requests at debug instead (below), and
      // sessions log their lifecycle at info.
      logLevel: 'warn',
      // Request logs of this route carry the URL with the session id cut short: the full
      // id is a bearer credential and never goes into logs.
      logSerializers: {
        req: (req: { method?: string; url?: string; ip?: string }) => ({
          method: req.method,
          url: redactLegacyUrl(resource, req.url ?? '/'),
          remoteAddress: req.ip,
        }),
      },
      handler: (request, reply) => {
        reply.hijack();
        logAtDebug(app.log, resource, request.raw, reply.raw);
        handle(request.raw, reply.raw);
      },
    });
  });
}

/** The hooks that run for a request: any of them added to the app turns the fast path off. */
const REQUEST_HOOKS = new Set([
  'onRequest',
  'preParsing',
  'preValidation',
  'preHandler',
  'preSerialization',
  'onSend',
  'onResponse',
  'onTimeout',
  'onError',
  'onRequestAbort',
]);

/**
 * The resource's requests ahead of fastify's router, for a server that owns its app: a
 * request under `/<resource>/` goes straight to `handle` (with the same debug line as the
 * route), everything else to fastify. The route itself stays mounted and takes over whenever
 * the fast path steps aside: once the application adds a request hook anywhere in the app
 * (it must see the resource's requests too), and whenever the server is not serving (the
 * shutdown answers stay fastify's and the hook's). Each poll and send then skips fastify's
 * request and reply objects, its router and its hook runner.
 */
export function routeResourceFirst(
  app: FastifyInstance,
  resource: string,
  handle: RawHandler,
  isServing: () => boolean,
): void {
  const server = app.server;
  const listeners = server.listeners('request') as RawHandler[];
  // Only fastify's own handler listens: anything else is not ours to reorder.
  if (listeners.length !== 1) return;
  const routed = listeners[0] as RawHandler;
  let hasRequestHooks = false;
  const addHook = app.addHook;
  // Plugins' instances inherit the app's methods, so this hears every scope's hooks.
  app.addHook = function (this: FastifyInstance, name: string, ...rest: unknown[]) {
    if (REQUEST_HOOKS.has(name)) hasRequestHooks = true;
    return (addHook as (...args: unknown[]) => FastifyInstance).call(this, name, ...rest);
  } as FastifyInstance['addHook'];
  const prefix = `/${resource}/`;
  server.removeListener('request', routed);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (hasRequestHooks || !isServing() || req.url?.startsWith(prefix) !== true) {
      routed.call(server, req, res);
      return;
    }
    logAtDebug(app.log, resource, req, res);
    handle(req, res);
  });
}

/** One line per answered request of the resource, at debug, with the session id cut short. */
function logAtDebug(log: FastifyBaseLogger, resource: string, req: IncomingMessage, res: ServerResponse): void {
  if (!(log as FastifyBaseLogger & { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('debug')) return;
  const startedAt = performance.now();
  res.on('finish', () => {
    const url = redactLegacyUrl(resource, req.url ?? '/');
    const responseTimeMs = Math.round((performance.now() - startedAt) * 10) / 10;
    log.debug({ method: req.method, url, statusCode: res.statusCode, responseTimeMs }, 'resource request');
  });
}

/** The answer of a closed server: 503, and the socket goes with it (never a reset). */
export function answerClosed(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  sendError(res, new RealtimeError('ERR_SHUTTING_DOWN', 'the server has shut down'), { Connection: 'close' });
}

/**
 * Every request of a standalone server answers 503 once it has closed, its own routes and
 * the application's alike (the plugin mode leaves the host application's routes alone).
 */
export function refuseWhenClosed(app: FastifyInstance, isClosed: () => boolean): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (!isClosed()) return done();
    reply.hijack();
    answerClosed(request.raw, reply.raw);
  });
}
