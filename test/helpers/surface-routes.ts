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
  '/{segment}/{segment}',
];

/** Every status the server may answer on this surface (README, Errors and Limits). */
export const DOCUMENTED_STATUSES: ReadonlySet<number> = new Set([
  101, 200, 400, 401, 403, 404, 405, 408, 413, 429, 431, 503,
]);
