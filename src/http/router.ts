/**
 * Pure routing of the legacy resource. The path is split by hand, never normalised:
 * the client's first request of an HTTP transport has an empty session segment
 * (`/socket.io/xhr-polling//1700000000000`), which means "open a session".
 *
 *   /socket.io/socket.io.js                              the browser client
 *   /socket.io/<transport>                               new session (websocket)
 *   /socket.io/<transport>/                              new session (xhr-multipart)
 *   /socket.io/<transport>//<ts>                         new session (polling, htmlfile)
 *   /socket.io/<transport>/<sessionId>/<ts>              a poll of that session
 *   /socket.io/<transport>/<sessionId>/send              a send (POST)
 *   /socket.io/jsonp-polling/<sessionId>/<ts>/<index>    a JSONP poll, or a send (POST)
 */
export type LegacyRoute =
  | { readonly kind: 'client-file'; readonly file: string }
  | {
      readonly kind: 'transport';
      readonly transport: string;
      /** '' when the request opens a new session. */
      readonly sessionId: string;
      /** The segments after the session id, empty ones kept. */
      readonly rest: readonly string[];
    };

/** Files the 0.6 client asks for under the resource. */
export const CLIENT_FILES = new Set([
  'socket.io.js',
  'WebSocketMain.swf',
  'lib/vendor/web-socket-js/WebSocketMain.swf',
]);

/** `resource` has no slashes (`socket.io`); `url` is the raw request URL. */
export function routeLegacy(resource: string, url: string): LegacyRoute | null {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const prefix = '/' + resource + '/';
  if (!path.startsWith(prefix)) return null;
  const tail = path.slice(prefix.length);
  if (CLIENT_FILES.has(tail)) return { kind: 'client-file', file: tail };
  const parts = tail.split('/');
  // An empty transport (`/socket.io/`) stays ours: it is answered 404 ERR_UNKNOWN_TRANSPORT
  // with a JSON body like any other unknown transport.
  const transport = parts[0] ?? '';
  return { kind: 'transport', transport, sessionId: parts[1] ?? '', rest: parts.slice(2) };
}

/** The JSONP index: the last path segment, a short run of decimal digits; else null. */
export function jsonpIndex(rest: readonly string[]): number | null {
  const last = rest[rest.length - 1];
  if (last === undefined || !/^\d{1,6}$/.test(last)) return null;
  return Number(last);
}

/** The URL with its session id segment cut to four characters, for logs. */
export function redactLegacyUrl(resource: string, url: string): string {
  const route = routeLegacy(resource, url);
  if (route === null || route.kind !== 'transport' || route.sessionId.length <= 4) return url;
  const prefix = `/${resource}/${route.transport}/`;
  return prefix + route.sessionId.slice(0, 4) + '…' + url.slice(prefix.length + route.sessionId.length);
}
