/**
 * The session desk of the 0.6 resource: for one request, which session it is about. A
 * handshake (no session id) resumes the session its cookies name whose transport was lost,
 * or makes a new one; a request with a session id finds it and takes the acknowledgement
 * its cookie carries. In a cluster the session may be another node's (the request is relayed
 * to it through a RemoteSession) or a dead node's (it is taken over here). Either way the desk
 * hands out the cookie the answers will carry.
 */
import type { IncomingMessage } from 'node:http';
import { RealtimeError } from '../errors.js';
import type { Codec } from '../codecs/types.js';
import type { Host } from '../hub/host.js';
import { redactSessionId } from '../hub/ids.js';
import type { ClusterSessions } from '../session/cluster-sessions.js';
import type { Conn, Resumability } from '../session/conn.js';
import type { SessionLocation } from '../hub/session-store.js';
import type { Registry } from '../session/registry.js';
import type { SessionPort, TransportName } from '../session/transport.js';
import type { CookieIssuer } from './module.js';
import { RemoteSession, type EdgeRelay } from './remote-session.js';
import {
  ackedSeqOf,
  expiredCookie,
  namedSessions,
  sessionCookie,
  type NamedSession,
  type SessionCookieSettings,
} from './session-cookie.js';

/** What the desk needs of the resource. */
export interface DeskContext {
  readonly registry: Registry;
  readonly host: Host;
  readonly codec: Codec;
  /** null: session cookies are off. */
  readonly cookie: SessionCookieSettings | null;
  /** In a cluster: this node's sessions in the store, and the relay to other nodes. */
  readonly cluster: { readonly sessions: ClusterSessions; readonly edge: EdgeRelay } | null;
  /** See the option: how long after an answer a polling session without a poll counts as lost. */
  readonly lostPollGapMs: number;
}

/** A request's session and the cookie its answers carry. */
export interface Seated {
  readonly conn: SessionPort;
  readonly cookie: CookieIssuer | null;
}

/** How long a node that owns a session named by a cookie has to say whether it is in use. */
const PROBE_TIMEOUT_MS = 500;
/** How soon a handshake looks again at a session that may only seem in use. */
const RELOOK_MS = 50;
/** How often a handshake looks for its session when another handshake took it first. */
const TAKE_LOOKS = 2;

const UNKNOWN = () => new RealtimeError('ERR_UNKNOWN_SESSION', 'unknown or expired session; open a new one');

/**
 * A handshake: the newest session the request's cookies name whose transport was lost
 * (never one still in use, such as another tab's) is resumed; else a new session is made.
 */
export async function seatHandshake(
  context: DeskContext,
  req: IncomingMessage,
  transport: TransportName,
): Promise<Seated | RealtimeError> {
  const named = context.cookie === null ? [] : namedSessions(req, context.cookie.prefix);
  const { resume, stale } = await findResumable(context, named);
  const conn = resume ?? (await newSession(context, req, transport));
  if (conn instanceof RealtimeError) return conn;
  return { conn, cookie: issuer(context, req, conn.sessionId, stale) };
}

/**
 * A request of a known session (a poll, a send, a re-attaching socket): what the browser
 * acknowledges comes from its cookie; without one, a poll acknowledges everything it was sent
 * (the client polls again only once the last answer arrived).
 */
export async function seatExisting(
  context: DeskContext,
  req: IncomingMessage,
  sessionId: string,
  isPoll: boolean,
): Promise<Seated | RealtimeError> {
  const ackedSeq = context.cookie === null ? undefined : ackedSeqOf(req, context.cookie.prefix, sessionId);
  let where: Conn | string | null;
  try {
    where = await locate(context, sessionId);
  } catch (error) {
    // The store cannot say where the session is (Redis is down): 503, and the client tries again.
    if (error instanceof RealtimeError) return error;
    throw error;
  }
  if (where === null) return UNKNOWN();
  let conn: SessionPort;
  if (typeof where === 'string') {
    conn = new RemoteSession(sessionId, context.codec, where, edgeOf(context), { ackedSeq, isPoll });
  } else {
    if (ackedSeq !== undefined) where.acknowledge(ackedSeq);
    else if (isPoll) where.acknowledge();
    conn = where;
  }
  return { conn, cookie: issuer(context, req, sessionId, null) };
}

/**
 * A websocket handshake is decided before its 101 (which carries the cookie) and seated after
 * it, so that a handshake that fails makes no session: a session to resume, or the id of the
 * new one and the cookies that name it.
 */
export interface UpgradePlan {
  readonly resume: SessionPort | null;
  readonly sessionId: string;
  /** `Set-Cookie` values for the 101; none for a resumed session (its cookie is there). */
  readonly cookies: string[] | undefined;
}

export async function planUpgrade(context: DeskContext, req: IncomingMessage): Promise<UpgradePlan> {
  const named = context.cookie === null ? [] : namedSessions(req, context.cookie.prefix);
  const { resume, stale } = await findResumable(context, named);
  if (resume !== null) return { resume, sessionId: resume.sessionId, cookies: undefined };
  const sessionId = context.registry.newSessionId();
  return { resume, sessionId, cookies: issuer(context, req, sessionId, stale)?.(0) };
}

/** After the 101: the planned session (one to resume, still resumable, or a new one). */
export async function seatUpgrade(
  context: DeskContext,
  req: IncomingMessage,
  transport: TransportName,
  plan: UpgradePlan,
): Promise<SessionPort | RealtimeError> {
  const resumed = plan.resume;
  if (resumed !== null && (!isConn(resumed) || resumed.isResumable)) return resumed;
  // Another handshake took the session meanwhile (two tabs at once): a new one.
  return newSession(context, req, transport, resumed === null ? plan.sessionId : undefined);
}

async function newSession(
  context: DeskContext,
  req: IncomingMessage,
  transport: TransportName,
  sessionId?: string,
): Promise<Conn | RealtimeError> {
  const address = context.host.clientAddress(req);
  const conn = context.registry.create(transport, address, req.headers.origin, sessionId);
  if (conn instanceof RealtimeError || context.cluster === null) return conn;
  // Any node may get the client's next request: the session must be findable before it is told its id.
  await context.cluster.sessions.save(conn);
  return conn;
}

/** A session by id: this node's, another live node's (its id), or null. */
function locate(context: DeskContext, sessionId: string): Promise<Conn | string | null> | Conn | null {
  const local = context.registry.get(sessionId);
  if (local !== undefined || context.cluster === null) return local ?? null;
  return context.cluster.sessions.locate(sessionId);
}

function edgeOf(context: DeskContext): EdgeRelay {
  if (context.cluster === null) throw new Error('relaying needs a cluster');
  return context.cluster.edge;
}

function isConn(port: SessionPort): port is Conn {
  return !(port instanceof RemoteSession);
}

/**
 * Of the sessions the cookies name, the newest whose transport was lost, made ready to
 * resume (here, or through its live owner); and the cookies of sessions that are gone.
 */
async function findResumable(
  context: DeskContext,
  named: readonly NamedSession[],
): Promise<{ resume: SessionPort | null; stale: string[] }> {
  const settings = context.cookie;
  if (settings === null || named.length === 0) return { resume: null, stale: [] };
  let stale: string[] = [];
  for (let look = 0; look < TAKE_LOOKS; look++) {
    // A session the store cannot look up now (Redis is down) is no candidate: the handshake goes on.
    const candidates = await Promise.all(
      named.map((entry) => candidateOf(context, entry).catch(() => 'in-use' as const)),
    );
    stale = named.filter((_, i) => candidates[i] === 'gone').map((entry) => expiredCookie(settings, entry.name));
    let best: Candidate | null = null;
    for (const candidate of candidates) {
      if (typeof candidate === 'string') continue;
      if (best === null || candidate.openedAt > best.openedAt) best = candidate;
    }
    if (best === null) return { resume: null, stale };
    const resume = await best.take();
    if (resume !== null) return { resume, stale };
    // Another handshake took it between the look and the take (two tabs at once, or this
    // client's own earlier attempt, which it gave up on, still in flight): look again.
  }
  return { resume: null, stale };
}

interface Candidate {
  readonly openedAt: number;
  take(): Promise<SessionPort | null>;
}

/** What a handshake sees of a session its cookie names, as of now. */
type Seen =
  | { readonly kind: 'local'; readonly conn: Conn; readonly verdict: Resumability }
  | { readonly kind: 'orphan'; readonly where: SessionLocation; readonly verdict: Resumability }
  | { readonly kind: 'remote'; readonly where: SessionLocation; readonly verdict: Resumability | null };

/**
 * One named session: a candidate to resume, 'in-use', or 'gone'. A session that may only seem
 * in use is waited for (bounded, as the client waits for its handshake): one detached after a
 * normal poll until `lostPollGapMs` says its client is not coming back that way; one in use
 * through a node that may have just died until the cluster's verdict on that node; one whose
 * owner does not answer until the cluster's verdict on the owner.
 */
async function candidateOf(context: DeskContext, named: NamedSession): Promise<Candidate | 'in-use' | 'gone'> {
  const deathMs = context.cluster?.sessions.deathDetectionMs ?? 0;
  const deadline = Date.now() + context.lostPollGapMs + 4 * RELOOK_MS + 2 * deathMs;
  while (Date.now() < deadline) {
    const seen = await look(context, named.sessionId);
    context.host.log()?.debug(
      {
        sessionId: redactSessionId(named.sessionId),
        seen: seen === 'gone' ? 'gone' : seen.kind,
        verdict: seen === 'gone' ? undefined : seen.verdict,
      },
      'a handshake looks at a session its cookie names',
    );
    if (seen === 'gone') return 'gone';
    const { verdict } = seen;
    if (verdict === null && seen.kind === 'remote') {
      // The owner did not answer the probe. Dead: its death is seen within the wait. Alive and
      // still the owner: busy (a takeover of many sessions, a loaded machine), not a verdict —
      // ask it again while the handshake's bound allows.
      const after = await context.cluster!.sessions.awaitDeath(named.sessionId, seen.where.owner);
      if (after === null) return 'gone';
      continue;
    }
    if (verdict === null || verdict.gone === true) return 'gone';
    if (verdict.resumable) return candidate(context, seen, named);
    if (verdict.via !== undefined && context.cluster !== null && verdict.via !== context.cluster.sessions.nodeId) {
      // In use through another node's transport: if that node has just died, the transport is
      // gone with it (the owner hears of it as every node does), and the session may be resumed.
      if (!(await context.cluster.sessions.awaitNodeDeath(verdict.via))) return 'in-use';
      await pause(RELOOK_MS);
      continue;
    }
    if (verdict.idleMs === undefined) return 'in-use';
    await pause(Math.max(RELOOK_MS, context.lostPollGapMs - verdict.idleMs + RELOOK_MS));
  }
  return 'in-use';
}

/** Where a named session is and what its holder says of it. */
async function look(context: DeskContext, sessionId: string): Promise<Seen | 'gone'> {
  const local = context.registry.get(sessionId);
  if (local !== undefined) return { kind: 'local', conn: local, verdict: local.resumability };
  if (context.cluster === null) return 'gone';
  const { sessions, edge } = context.cluster;
  const where = await sessions.find(sessionId);
  if (where === null) return 'gone';
  if (!where.isOwnerAlive) return { kind: 'orphan', where, verdict: { resumable: true } };
  // Owned here but not restored yet (a takeover in flight on this node): look again.
  if (where.owner === sessions.nodeId) return { kind: 'remote', where, verdict: { resumable: false, idleMs: 0 } };
  return { kind: 'remote', where, verdict: await edge.probe(where.owner, sessionId, PROBE_TIMEOUT_MS) };
}

/** A session to resume, and how to take it. */
function candidate(context: DeskContext, seen: Seen, { sessionId, ackedSeq }: NamedSession): Candidate {
  if (seen.kind === 'local') return { openedAt: seen.conn.openedAt, take: async () => ready(seen.conn, ackedSeq) };
  const { sessions, edge } = context.cluster!;
  const { where } = seen;
  return {
    openedAt: where.openedAt,
    take: async () => {
      if (seen.kind === 'orphan') {
        const adopted = await sessions.adopt(sessionId, where.owner);
        if (adopted !== null) return ready(adopted, ackedSeq);
      }
      // Its owner lives (or another node took it over first): resume it where it is.
      const now = await sessions.locate(sessionId);
      if (now === null) return null;
      if (typeof now !== 'string') return ready(now, ackedSeq);
      return new RemoteSession(sessionId, context.codec, now, edge, { ackedSeq, isResume: true });
    },
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The session made ready to resume, or null when another handshake has just taken it. */
function ready(conn: Conn, ackedSeq: number): Conn | null {
  if (!conn.isResumable) return null;
  conn.prepareResume(ackedSeq);
  return conn;
}

/**
 * The `Set-Cookie` values of a request's answers: on a handshake (`stale` given) its first
 * answer names the session (and removes stale cookies) whatever it carries; after that, an
 * answer sets it only when it carries message frames, with the last one's number.
 */
function issuer(
  context: DeskContext,
  req: IncomingMessage,
  sessionId: string,
  stale: string[] | null,
): CookieIssuer | null {
  const settings = context.cookie;
  if (settings === null) return null;
  const isSecure = context.host.isSecure(req);
  let pending = stale;
  return (lastSeq) => {
    if (lastSeq === 0 && pending === null) return undefined;
    const cookies = [sessionCookie(settings, sessionId, lastSeq, isSecure), ...(pending ?? [])];
    pending = null;
    return cookies;
  };
}
