/**
 * The session desk of the 0.6 resource: for one request, which session it is about. A
 * handshake (no session id) resumes the session its cookies name whose transport was lost,
 * or makes a new one; a request with a session id finds it and takes the acknowledgement
 * its cookie carries. Either way the desk hands out the cookie the answers will carry.
 */
import type { IncomingMessage } from 'node:http';
import { RealtimeError } from '../errors.js';
import type { Conn } from '../session/conn.js';
import type { Registry } from '../session/registry.js';
import type { TransportName } from '../session/transport.js';
import type { Host } from '../hub/host.js';
import type { CookieIssuer } from './module.js';
import {
  ackedSeqOf,
  expiredCookie,
  namedSessions,
  sessionCookie,
  type SessionCookieSettings,
} from './session-cookie.js';

/** What the desk needs of the resource. */
export interface DeskContext {
  readonly registry: Registry;
  readonly host: Host;
  /** null: session cookies are off. */
  readonly cookie: SessionCookieSettings | null;
}

/** A request's session and the cookie its answers carry. */
export interface Seated {
  readonly conn: Conn;
  readonly cookie: CookieIssuer | null;
}

/**
 * A handshake: the newest session the request's cookies name whose transport was lost
 * (`Conn.isResumable`: never one still in use, such as another tab's) is resumed; else a
 * new session is made. `sessionId` names the new one when the caller has chosen it already.
 */
export function seatHandshake(
  context: DeskContext,
  req: IncomingMessage,
  transport: TransportName,
  sessionId?: string,
): Seated | RealtimeError {
  const resumable = findResumable(context, req);
  let conn: Conn | RealtimeError;
  if (resumable !== null) {
    resumable.conn.prepareResume(resumable.ackedSeq);
    conn = resumable.conn;
  } else {
    const address = context.host.clientAddress(req);
    conn = context.registry.create(transport, address, req.headers.origin, sessionId);
  }
  if (conn instanceof RealtimeError) return conn;
  return { conn, cookie: issuer(context, req, conn.sessionId, staleCookies(context, req)) };
}

/**
 * A request of a known session (a poll, a send, a re-attaching socket): what the browser
 * acknowledges comes from its cookie; without one, a poll acknowledges everything it was sent
 * (the client polls again only once the last answer arrived).
 */
export function seatExisting(
  context: DeskContext,
  req: IncomingMessage,
  sessionId: string,
  isPoll: boolean,
): Seated | RealtimeError {
  const conn = context.registry.get(sessionId);
  if (conn === undefined) return new RealtimeError('ERR_UNKNOWN_SESSION', 'unknown or expired session; open a new one');
  const ackedSeq = context.cookie === null ? undefined : ackedSeqOf(req, context.cookie.prefix, sessionId);
  if (ackedSeq !== undefined) conn.acknowledge(ackedSeq);
  else if (isPoll) conn.acknowledge();
  return { conn, cookie: issuer(context, req, sessionId, null) };
}

/**
 * A websocket handshake is decided before its 101 (which carries the cookie) and seated after
 * it, so that a handshake that fails makes no session: a session to resume, or the id of the
 * new one and the cookies that name it.
 */
export interface UpgradePlan {
  readonly resume: { readonly conn: Conn; readonly ackedSeq: number } | null;
  readonly sessionId: string;
  /** `Set-Cookie` values for the 101; none for a resumed session (its cookie is there). */
  readonly cookies: string[] | undefined;
}

export function planUpgrade(context: DeskContext, req: IncomingMessage): UpgradePlan {
  const resume = findResumable(context, req);
  if (resume !== null) return { resume, sessionId: resume.conn.sessionId, cookies: undefined };
  const sessionId = context.registry.newSessionId();
  return { resume, sessionId, cookies: issuer(context, req, sessionId, staleCookies(context, req))?.(0) };
}

/** After the 101: the planned session (a resumed one still resumable, or a new one). */
export function seatUpgrade(
  context: DeskContext,
  req: IncomingMessage,
  transport: TransportName,
  plan: UpgradePlan,
): Conn | RealtimeError {
  const resumed = plan.resume;
  if (resumed !== null && resumed.conn.isResumable) {
    resumed.conn.prepareResume(resumed.ackedSeq);
    return resumed.conn;
  }
  // Another handshake took the session meanwhile (two tabs at once): a new one.
  const sessionId = resumed === null ? plan.sessionId : undefined;
  return context.registry.create(transport, context.host.clientAddress(req), req.headers.origin, sessionId);
}

function findResumable(context: DeskContext, req: IncomingMessage): { conn: Conn; ackedSeq: number } | null {
  if (context.cookie === null) return null;
  let found: { conn: Conn; ackedSeq: number } | null = null;
  for (const named of namedSessions(req, context.cookie.prefix)) {
    const conn = context.registry.get(named.sessionId);
    if (conn === undefined || !conn.isResumable) continue;
    if (found === null || conn.openedAt > found.conn.openedAt) found = { conn, ackedSeq: named.ackedSeq };
  }
  return found;
}

/** Cookies naming sessions that are gone: a handshake's answer removes them. */
function staleCookies(context: DeskContext, req: IncomingMessage): string[] {
  const settings = context.cookie;
  if (settings === null) return [];
  return namedSessions(req, settings.prefix)
    .filter((named) => context.registry.get(named.sessionId) === undefined)
    .map((named) => expiredCookie(settings, named.name));
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
