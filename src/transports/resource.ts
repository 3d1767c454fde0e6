/**
 * The legacy Socket.IO 0.6 resource at the HTTP edge: checks that apply to every
 * transport (method, transport enabled, origin, authorization, session lookup or
 * creation), the POST send path, and the websocket upgrade. Transport modules are
 * asked only for their own framing.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Server as WebSocketServer } from 'ws';
import { serveClientFile } from '../http/client-files.js';
import { RealtimeError } from '../errors.js';
import { Admission, type OriginPolicy } from '../http/admission.js';
import { isExplicitlyAllowed, isOriginAllowed, isSameOrigin, parseOrigins, type OriginRule } from '../http/origins.js';
import { routeLegacy, type LegacyRoute } from '../http/router.js';
import type { UpgradeRoute } from '../http/upgrades.js';
import type { Host } from '../hub/host.js';
import type { Registry } from '../session/registry.js';
import type { ConnectionBudget } from '../http/budget.js';
import { BASE_HEADERS, corsHeaders, formField, readBody, sendError } from '../http/replies.js';
import { TimerList } from '../hub/timer-lists.js';
import { AnswerHeaderCache, answerHeaders, type AnswerHeaders } from './answer-headers.js';
import { acceptHixie, isHixieRequest } from './hixie.js';
import { TRANSPORT_MODULES } from './index.js';
import type { PollDeadline, ResourceOptions, TransportModule, UpgradeTransportModule } from './module.js';
import { handOverErrors, rejectUpgrade, validateDraftUpgrade, validateUpgrade } from '../http/upgrade.js';
import type { SessionWebSocket } from './session-websocket.js';
import type { SessionCookieSettings } from './session-cookie.js';
import { planUpgrade, seatExisting, seatHandshake, seatUpgrade } from './session-desk.js';
import { EdgeRelay } from './remote-session.js';
import type { Codec } from '../codecs/types.js';
import type { SessionStore } from '../hub/session-store.js';
import type { ClusterSessions } from '../session/cluster-sessions.js';
import { RelayOwner } from '../session/relay.js';
import type { SessionPort } from '../session/transport.js';

type TransportRoute = Extract<LegacyRoute, { kind: 'transport' }>;

/** What the 0.6 resource needs from the server instance that owns it. */
export interface ResourceContext {
  readonly options: ResourceOptions;
  readonly registry: Registry;
  readonly budget: ConnectionBudget;
  readonly wss: WebSocketServer<typeof SessionWebSocket>;
  /** The server's services (client address, TLS, errors). */
  readonly host: Host;
  /** The one admission path, with the 0.6 Origin rule (isOriginOk). */
  readonly admission: Admission;
  readonly originRules: readonly OriginRule[];
  /** Whether `allowedHosts` is set, so that a Host header proves something. */
  readonly hostsAreChecked: boolean;
  /** The session cookie's name prefix and path; null when cookies are off. */
  readonly cookie: SessionCookieSettings | null;
  /** The codec of every session (what a stand-in for another node's session reports). */
  readonly codec: Codec;
  /** In a cluster: this node's sessions in the store, and the relay to other nodes. */
  readonly cluster: { readonly sessions: ClusterSessions; readonly edge: EdgeRelay } | null;
  /** The `Set-Cookie` values of websocket handshakes, read back when `ws` writes the 101. */
  readonly upgradeCookies: WeakMap<IncomingMessage, string[]>;
  /** How long after an answer a polling session without a poll counts as lost (see the option). */
  readonly lostPollGapMs: number;
  /** Every held poll's deadline (`pollDurationMs`): one list, no Node timer per poll. */
  readonly pollDeadlines: TimerList<PollDeadline>;
  /** The everyday answers' headers, by Origin. */
  readonly answerHeaders: AnswerHeaderCache;
}

/** What the server hands over to make the 0.6 resource's context. */
export interface ResourceParts {
  readonly options: ResourceOptions & {
    readonly origins: string | readonly string[];
    readonly allowedHosts: readonly string[];
    readonly resource: string;
  };
  readonly registry: Registry;
  readonly budget: ConnectionBudget;
  readonly wss: WebSocketServer<typeof SessionWebSocket>;
  readonly host: Host;
  readonly codec: Codec;
  /** In a cluster, the shared store and this node's sessions in it. */
  readonly cluster: { readonly store: SessionStore; readonly sessions: ClusterSessions } | null;
  /** How long a send relayed to another node may wait for its answer. */
  readonly relayTimeoutMs: number;
}

/** The 0.6 resource's context: its origin rules and its admission path (origin, hosts, authorize). */
export function makeResourceContext(parts: ResourceParts): ResourceContext {
  const originRules = parseOrigins(parts.options.origins);
  const hostsAreChecked = parts.options.allowedHosts.length > 0;
  const policy = { origin: resourceOriginRule(originRules, hostsAreChecked), authorize: parts.options.authorize };
  const { sessionCookie, resource } = parts.options;
  const cookie = sessionCookie === false ? null : { prefix: sessionCookie, path: `/${resource}` };
  const upgradeCookies = new WeakMap<IncomingMessage, string[]>();
  // ws writes the 101 itself: the session cookie joins its headers here.
  parts.wss.on('headers', (headers: string[], req: IncomingMessage) => {
    for (const value of upgradeCookies.get(req) ?? []) headers.push(`Set-Cookie: ${value}`);
  });
  const admission = new Admission(policy, parts.host);
  const cluster = parts.cluster === null ? null : relayOver(parts, parts.cluster);
  const { lostPollGapMs, pollDurationMs } = parts.options;
  const pollDeadlines = new TimerList<PollDeadline>(pollDurationMs, expirePoll);
  const headerCache = new AnswerHeaderCache(
    (origin) => isOriginAllowed(originRules, origin),
    (origin) => isExplicitlyAllowed(originRules, origin),
  );
  return {
    ...parts,
    originRules,
    hostsAreChecked,
    admission,
    cookie,
    upgradeCookies,
    cluster,
    lostPollGapMs,
    pollDeadlines,
    answerHeaders: headerCache,
  };
}

/** The poll deadlines' callback (module-level: no closure per list). */
function expirePoll(poll: PollDeadline): void {
  poll.expire();
}

/**
 * The answer headers of a request: by its Origin alone from the cache; with `allowedHosts`
 * set the Host decides too (the same-origin rule), so they are made for the request.
 */
function answerHeadersOf(context: ResourceContext, req: IncomingMessage): AnswerHeaders {
  const origin = req.headers.origin;
  if (!context.hostsAreChecked) return context.answerHeaders.of(origin);
  const allowed = isOriginOk(context.originRules, context.hostsAreChecked, req);
  return answerHeaders(allowed ? corsHeaders(origin, isExplicitlyAllowed(context.originRules, origin)) : {});
}

/** Owner messages go to the relay's edge side, edge messages to its owner side. */
const EDGE_KINDS = new Set(['write', 'close', 'refused', 'recvd', 'probed']);

/**
 * The relay of a node in a cluster: requests here for other nodes' sessions go through the
 * edge side; other nodes' requests for sessions here come in through the owner side.
 */
function relayOver(
  parts: ResourceParts,
  cluster: { readonly store: SessionStore; readonly sessions: ClusterSessions },
): { sessions: ClusterSessions; edge: EdgeRelay } {
  const { store, sessions } = cluster;
  const locate = (sessionId: string) => sessions.locate(sessionId);
  const edge = new EdgeRelay(store.bus, store.nodeId, locate, parts.relayTimeoutMs);
  const local = { get: (id: string) => parts.registry.get(id), isArriving: (id: string) => sessions.isArriving(id) };
  const owner = new RelayOwner(store.bus, local, store.nodeId);
  store.bus.onMessage((message) => {
    try {
      if (EDGE_KINDS.has(String(message.k))) edge.handle(message);
      else owner.handle(message);
    } catch (error) {
      parts.host.reportError(error);
    }
  });
  store.onNodeDown((nodeId) => {
    owner.edgeDown(nodeId);
    edge.nodeDown(nodeId).catch((error: unknown) => parts.host.reportError(error));
  });
  return { sessions, edge };
}

/** @deprecated The name of {@link ResourceContext} before the layout of 0.2. */
export type LegacyContext = ResourceContext;

const ALLOWED_METHODS = 'GET, POST, OPTIONS';

function remoteAddressOf(context: ResourceContext, req: IncomingMessage): string {
  return context.host.clientAddress(req);
}

function enabledModule(context: ResourceContext, name: string): TransportModule | RealtimeError {
  const module = (context.options.transports as readonly string[]).includes(name)
    ? TRANSPORT_MODULES[name as keyof typeof TRANSPORT_MODULES]
    : undefined;
  return module ?? new RealtimeError('ERR_UNKNOWN_TRANSPORT', `unknown or disabled transport "${name.slice(0, 64)}"`);
}

/**
 * The 0.6 Origin rule: the `origins` allow-list. Chromium sends Origin on same-origin POSTs
 * and websocket handshakes too (docs/protocol/socketio-0.6.md §4.0, §4.1, §6.7), so an Origin
 * naming the very host the request was sent to is always allowed: a page served by this
 * server must work whatever the `origins` list says.
 */
export function resourceOriginRule(rules: readonly OriginRule[], hostsAreChecked: boolean): OriginPolicy {
  return (req) => isOriginOk(rules, hostsAreChecked, req);
}

/**
 * With an explicit allow-list, the Host header alone never proves same-origin (a rebound DNS
 * name sends `Host` and `Origin` of the attacker's site): the shortcut holds only when
 * `allowedHosts` has vouched for the Host.
 */
function isOriginOk(rules: readonly OriginRule[], hostsAreChecked: boolean, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  return isOriginAllowed(rules, origin) || (hostsAreChecked && isSameOrigin(origin, req.headers.host));
}

/**
 * jsonp-polling is a `<script>` GET: it carries the visitor's cookies and no Origin, so with
 * a cookie-based `authorize` another site could read the session. The page that included the
 * script must be same-site (`Sec-Fetch-Site`) or named by the allow-list (`Referer`); a
 * request that shows neither is refused.
 */
function isScriptPageAllowed(context: ResourceContext, req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'same-site' || site === 'none') return true;
  const referer = req.headers.referer;
  const page = referer !== undefined && URL.canParse(referer) ? new URL(referer).origin : undefined;
  if (page === undefined || page === 'null') return false;
  if (isExplicitlyAllowed(context.originRules, page)) return true;
  // Browsers without Fetch Metadata: a Referer of this very host is a same-site page.
  return site === undefined && isSameOrigin(page, req.headers.host);
}

/**
 * The checks every 0.6 request passes (the one admission path); null when it may go on.
 * While the server shuts down only new sessions are refused: polls and sends of existing
 * ones still come through, so their queues can drain.
 */
function admit(context: ResourceContext, req: IncomingMessage, sessionId: string): Promise<RealtimeError | null> {
  return context.admission.check(req, sessionId === '');
}

/** Every HTTP request under the resource. Never throws; every failure is answered. */
export async function handleLegacyHttp(
  context: ResourceContext,
  route: LegacyRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (route.kind === 'client-file') return answerClientFile(context, route.file, req, res);
  const module = enabledModule(context, route.transport);
  if (module instanceof RealtimeError) return sendError(res, module);
  if (method !== 'GET' && method !== 'POST' && method !== 'OPTIONS') {
    return sendError(res, new RealtimeError('ERR_METHOD_NOT_ALLOWED', `${method} is not allowed here`), {
      Allow: ALLOWED_METHODS,
    });
  }
  const answer = answerHeadersOf(context, req);
  const cors = answer.cors;
  if (method === 'OPTIONS') return answerPreflight(req, res, cors);
  const refusal = await admit(context, req, route.sessionId);
  if (refusal !== null) return sendError(res, refusal, cors);
  if (method === 'POST') return handleSend(context, module, route, req, res, answer);
  if (module.kind !== 'http') {
    return sendError(res, new RealtimeError('ERR_BAD_REQUEST', `${module.name} needs a websocket upgrade`), cors);
  }
  const invalid = module.validate?.(route) ?? null;
  if (invalid !== null) return sendError(res, invalid, cors);
  if (
    module.name === 'jsonp-polling' &&
    context.options.authorize !== undefined &&
    !isScriptPageAllowed(context, req)
  ) {
    const refusal = new RealtimeError(
      'ERR_ORIGIN_REFUSED',
      'jsonp-polling with authorize: the including page is not allowed',
    );
    return sendError(res, refusal, cors);
  }
  // The client may have gone while the authorization hook ran: a session made or a poll
  // attached now would wait on a response nobody reads.
  if (res.destroyed) return;
  const seated =
    route.sessionId === ''
      ? await seatHandshake(context, req, module.name)
      : await seatExisting(context, req, route.sessionId, true);
  if (seated instanceof RealtimeError) return sendError(res, seated, cors);
  const { conn, cookie } = seated;
  const { options, pollDeadlines } = context;
  module.attach({ req, res, route, conn, cookie, cors, answer, options, pollDeadlines });
}

function answerClientFile(context: ResourceContext, file: string, req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  if (!context.options.serveClient) {
    sendError(res, new RealtimeError('ERR_NOT_FOUND', 'client files are not served'));
  } else if (method === 'GET' || method === 'HEAD') {
    serveClientFile(file, req, res);
  } else {
    sendError(res, new RealtimeError('ERR_METHOD_NOT_ALLOWED', `${method} is not allowed here`), {
      Allow: 'GET, HEAD',
    });
  }
}

function answerPreflight(req: IncomingMessage, res: ServerResponse, cors: OutgoingHttpHeaders): void {
  const headers: OutgoingHttpHeaders = { ...BASE_HEADERS, ...cors, Allow: ALLOWED_METHODS, 'Content-Length': 0 };
  if (cors['Access-Control-Allow-Origin'] !== undefined) {
    headers['Access-Control-Allow-Methods'] = ALLOWED_METHODS;
    headers['Access-Control-Allow-Headers'] = req.headers['access-control-request-headers'] ?? 'Content-Type';
    headers['Access-Control-Max-Age'] = '600';
  }
  res.writeHead(200, headers);
  res.end();
}

/** POST: a payload from the client, form-encoded in `data`. Answered `200 ok` once decoded. */
async function handleSend(
  context: ResourceContext,
  module: TransportModule,
  route: TransportRoute,
  req: IncomingMessage,
  res: ServerResponse,
  answer: AnswerHeaders,
): Promise<void> {
  const cors = answer.cors;
  if (route.sessionId === '') {
    req.resume();
    return sendError(res, new RealtimeError('ERR_SESSION_REQUIRED', 'a send needs a session id'), cors);
  }
  const seated = await seatExisting(context, req, route.sessionId, false);
  if (seated instanceof RealtimeError) {
    req.resume();
    return sendError(res, seated, cors);
  }
  const conn = seated.conn;
  const body = await readBody(req, context.options.maxPayloadBytes);
  if (body instanceof RealtimeError) return sendError(res, body, { ...cors, Connection: 'close' });
  let payload = formField(body, 'data');
  if (payload instanceof RealtimeError) return sendError(res, payload, cors);
  if (module.kind === 'http' && module.normalizeSend !== undefined) payload = module.normalizeSend(payload);
  // A session here decides at once; only a relayed one (another node's) answers later.
  const received = conn.receive(payload);
  const error = received instanceof Promise ? await received : received;
  if (error !== null) return sendError(res, error, cors);
  res.writeHead(200, answer.ok as (string | number)[]);
  res.end('ok');
}

/** A websocket upgrade under the resource (websocket, flashsocket). */
export async function handleLegacyUpgrade(
  context: ResourceContext,
  route: TransportRoute,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const module = enabledModule(context, route.transport);
  if (module instanceof RealtimeError) return rejectUpgrade(socket, module);
  if (module.kind !== 'upgrade') {
    return rejectUpgrade(socket, new RealtimeError('ERR_BAD_REQUEST', `${module.name} is not a websocket transport`));
  }
  // The drafts (hixie-75/76) have no key or version headers (websocket-driver checks their
  // keys); their method and Upgrade header are checked here, so a refusal is JSON too.
  const malformed = isHixieRequest(req) ? validateDraftUpgrade(req) : validateUpgrade(req);
  if (malformed !== null) return rejectUpgrade(socket, malformed);
  const refusal = await admit(context, req, route.sessionId);
  if (refusal !== null) return rejectUpgrade(socket, refusal);
  if (route.sessionId !== '') {
    const found = await seatExisting(context, req, route.sessionId, false);
    if (found instanceof RealtimeError) return rejectUpgrade(socket, found);
    return openUpgrade(context, module, async () => found.conn, req, socket, head);
  }
  const plan = await planUpgrade(context, req);
  // Refuse before the 101 so the client sees a status, not a closed socket (both limits,
  // every protocol's connections counted). A resumed session is counted already.
  const full = plan.resume === null ? context.budget.check(remoteAddressOf(context, req)) : null;
  if (full !== null) return rejectUpgrade(socket, full);
  if (plan.cookies !== undefined) context.upgradeCookies.set(req, plan.cookies);
  openUpgrade(context, module, () => seatUpgrade(context, req, module.name, plan), req, socket, head);
}

/** Completes an admitted upgrade: a draft handshake or an RFC 6455 one, then the session. */
function openUpgrade(
  context: ResourceContext,
  module: UpgradeTransportModule,
  seat: () => Promise<SessionPort | RealtimeError>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  if (isHixieRequest(req)) {
    // Safari 5, Chrome ≤ 13, Flash: hixie-75/76 through websocket-driver (see transports/hixie.ts).
    const onOpen = async () => {
      const conn = await seat();
      return conn instanceof RealtimeError ? null : conn;
    };
    const { maxPayloadBytes, hixieHandshakeTimeoutMs: timeoutMs } = context.options;
    const cookies = context.upgradeCookies.get(req) ?? [];
    const handshake = { req, socket, head, maxPayloadBytes, timeoutMs, onOpen, cookies };
    return acceptHixie(handshake, module.name, context.options.wsHighWaterMarkBytes);
  }
  context.wss.handleUpgrade(req, socket, head, (ws) => {
    handOverErrors(socket);
    void seat().then((conn) => {
      if (conn instanceof RealtimeError) return ws.close(conn.closeCode, conn.code);
      // The client may have gone while its session was being saved.
      if (ws.readyState !== ws.OPEN) return;
      module.accept(ws, socket, conn, context.options.wsHighWaterMarkBytes);
    });
  });
}

/** The 0.6 resource as an upgrade route (websocket, flashsocket), first in the dispatcher. */
export function resourceUpgradeRoute(
  context: ResourceContext,
  resource: string,
  reportError: (error: unknown) => void,
): UpgradeRoute {
  return {
    match: (pathname) => routeLegacy(resource, pathname)?.kind === 'transport',
    handle: (req, socket, head) => {
      const route = routeLegacy(resource, req.url ?? '/') as TransportRoute;
      handleLegacyUpgrade(context, route, req, socket, head).catch((error: unknown) => {
        reportError(error);
        socket.destroy();
      });
    },
  };
}

/** One HTTP request under the resource (the fastify route's handler). Never throws. */
export function handleResourceRequest(
  context: ResourceContext,
  resource: string,
  req: IncomingMessage,
  res: ServerResponse,
  reportError: (error: unknown) => void,
): void {
  const route = routeLegacy(resource, req.url ?? '/');
  if (route === null) {
    req.resume();
    sendError(res, new RealtimeError('ERR_UNKNOWN_TRANSPORT', 'no transport named in the path'));
    return;
  }
  handleLegacyHttp(context, route, req, res).catch((error: unknown) => {
    reportError(error);
    sendError(res, new RealtimeError('ERR_HANDLER_FAILED', 'internal error', { cause: error }));
  });
}
