/**
 * The request surface the router fuzzer aims at: path templates of every route of this build.
 * `{sessionId}` becomes a live session's id, `{ts}` a timestamp, `{segment}` a random path
 * segment. A new transport or endpoint adds its paths here (its JSONP index, its endpoint).
 */
export const SURFACE_ROUTES: readonly string[] = [
  '/',
  '/socket.io',
  '/socket.io/',
  '/socket.io/socket.io.js',
  '/socket.io/WebSocketMain.swf',
  '/socket.io/websocket',
  '/socket.io/websocket/{sessionId}',
  '/socket.io/websocket/{segment}',
  '/socket.io/xhr-polling//{ts}',
  '/socket.io/xhr-polling/{sessionId}/{ts}',
  '/socket.io/xhr-polling/{sessionId}/send',
  '/socket.io/xhr-polling/{segment}/send',
  '/socket.io/xhr-polling/{segment}/{ts}',
  '/socket.io/{segment}',
  '/socket.io/{segment}//{ts}',
  '/socket.io/{segment}/{sessionId}/send',
  '/socket.io/lib/vendor/web-socket-js/WebSocketMain.swf',
  // websocket drafts and Flash: the same handler under two names.
  '/socket.io/flashsocket',
  '/socket.io/flashsocket/{sessionId}',
  '/socket.io/flashsocket/{segment}',
  // The streams answer with a head and keep the body open (see rawRequest).
  '/socket.io/htmlfile//{ts}',
  '/socket.io/htmlfile/{sessionId}/{ts}',
  '/socket.io/htmlfile/{sessionId}/send',
  '/socket.io/htmlfile/{segment}/{ts}',
  '/socket.io/xhr-multipart/',
  '/socket.io/xhr-multipart/{sessionId}',
  '/socket.io/xhr-multipart/{sessionId}/send',
  '/socket.io/xhr-multipart/{segment}',
  // jsonp-polling: the index (last segment) goes into a script, so random ones matter most.
  '/socket.io/jsonp-polling//{ts}/0',
  '/socket.io/jsonp-polling//{ts}/{segment}',
  '/socket.io/jsonp-polling/{sessionId}/{ts}/1',
  '/socket.io/jsonp-polling/{sessionId}/{ts}/{segment}',
  '/socket.io/jsonp-polling/{segment}/{ts}/0',
  // sac-sock and a plain endpoint (`installEchoes` mounts it).
  '/socket',
  '/socket/{segment}',
  '/plain-echo',
  '/plain-echo/{segment}',
  '/{segment}/{segment}',
];

/** Every status the server may answer on this surface (docs/errors.md, docs/limits.md). */
export const DOCUMENTED_STATUSES: ReadonlySet<number> = new Set([
  101, 200, 400, 401, 403, 404, 405, 408, 413, 426, 429, 431, 503,
]);
