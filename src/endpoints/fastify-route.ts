/**
 * The fastify-route form of plain websocket endpoints: a route declared with a `websocket`
 * option also mounts an endpoint at its URL. Plain HTTP requests to that URL still reach
 * the route's own handler (go-macaron/macaron#80: a socket route must not refuse ordinary
 * page requests); upgrade requests go to the endpoint.
 *
 * ```ts
 * app.get('/echo', { websocket: { mode: 'text', handler: async (conn) => {
 *   for await (const text of conn.messages) await conn.send(text);
 * } } }, (_request, reply) => reply.code(426).send({ code: 'ERR_UPGRADE_REQUIRED' }));
 * ```
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { ConnectionHandler } from './endpoint.js';
import type { WebSocketEndpointOptions } from './options.js';

/** The `websocket` route option: endpoint options plus the connection handler. */
export interface WebSocketRouteOption<T = unknown> extends WebSocketEndpointOptions<T> {
  handler: ConnectionHandler<T>;
}

declare module 'fastify' {
  interface RouteShorthandOptions {
    /** Also mount a plain websocket endpoint at this route's URL (needs the switchyard plugin). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    websocket?: WebSocketRouteOption<any>;
  }
}

type Mount = (path: string, options: WebSocketEndpointOptions<unknown>, handler: ConnectionHandler<unknown>) => void;

/** Watches route registrations on `app` and mounts an endpoint for each `websocket` route. */
export function mountWebSocketRoutes(app: FastifyInstance, mount: Mount): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const option = route.websocket;
    if (option === undefined) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('GET')) return;
    const { handler, ...options } = option as WebSocketRouteOption<unknown>;
    mount(route.url, options, handler);
  });
}
