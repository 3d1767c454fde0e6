/**
 * The session cookie: how the unmodified 0.6 client gets its session back. The client forgets
 * its session id whenever a poll fails or its socket drops and opens a new handshake; the
 * browser still sends the cookies of this resource, so the handshake names the sessions this
 * browser had, and one whose transport was lost is resumed instead of a new one being made.
 *
 * One cookie per session, so that two tabs never overwrite each other's:
 *
 *   Set-Cookie: sy.sid.1x2b3c=Ab3dE5gH7jK9mN1p.42; Path=/socket.io; HttpOnly; SameSite=Lax
 *
 * The name is the configured prefix and a short hash of the id (never the id itself); the
 * value is the session id and the sequence number of the last message frame the browser was
 * sent in a poll answer. A browser stores it when the answer arrives, so every later request
 * acknowledges exactly what arrived, and a resumed session sends again only what did not.
 * HttpOnly (no script reads it), SameSite=Lax (no other site's page sends it), `Secure`
 * behind TLS, no expiry (it goes with the browser session; stale ones are removed when a
 * handshake finds their session gone).
 */
import type { IncomingMessage } from 'node:http';

export interface SessionCookieSettings {
  /** The name prefix (`sessionCookie`). */
  readonly prefix: string;
  /** `Path` of every cookie: the resource. */
  readonly path: string;
}

/** A session named by a request's cookies, and what the browser acknowledged of it. */
export interface NamedSession {
  readonly name: string;
  readonly sessionId: string;
  readonly ackedSeq: number;
}

/** Sessions ids are nanoid's alphabet (16 of them; custom lengths stay in 8–64). */
const SESSION_ID = /^[0-9A-Za-z_-]{8,64}$/;
const SEQ = /^\d{1,15}$/;

/** The cookie name of one session: the prefix and a 32-bit FNV-1a hash of its id, base 36. */
export function cookieNameOf(prefix: string, sessionId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sessionId.length; i++) {
    hash ^= sessionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${prefix}.${hash.toString(36)}`;
}

/** The `Set-Cookie` value for `sessionId` with `ackSeq` as the last sequence number sent. */
export function sessionCookie(
  settings: SessionCookieSettings,
  sessionId: string,
  ackSeq: number,
  isSecure: boolean,
): string {
  const name = cookieNameOf(settings.prefix, sessionId);
  const secure = isSecure ? '; Secure' : '';
  return `${name}=${sessionId}.${ackSeq}; Path=${settings.path}; HttpOnly; SameSite=Lax${secure}`;
}

/** The `Set-Cookie` value that removes cookie `name`. */
export function expiredCookie(settings: SessionCookieSettings, name: string): string {
  return `${name}=; Path=${settings.path}; Max-Age=0; HttpOnly; SameSite=Lax`;
}

/**
 * The sessions a request's cookies name, under `prefix`. Malformed values and names that do
 * not match their id's hash are ignored: a cookie cannot point at a session it was not made for.
 */
export function namedSessions(req: IncomingMessage, prefix: string): NamedSession[] {
  const header = req.headers.cookie;
  if (header === undefined || !header.includes(prefix)) return [];
  const found: NamedSession[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!name.startsWith(`${prefix}.`)) continue;
    const value = pair.slice(eq + 1).trim();
    const dot = value.lastIndexOf('.');
    const sessionId = value.slice(0, dot);
    const seq = value.slice(dot + 1);
    if (dot < 0 || !SESSION_ID.test(sessionId) || !SEQ.test(seq)) continue;
    if (cookieNameOf(prefix, sessionId) !== name) continue;
    found.push({ name, sessionId, ackedSeq: Number(seq) });
  }
  return found;
}

/** What the request's cookie says the browser has of `sessionId`, if it names it. */
export function ackedSeqOf(req: IncomingMessage, prefix: string, sessionId: string): number | undefined {
  if (req.headers.cookie === undefined) return undefined;
  return namedSessions(req, prefix).find((named) => named.sessionId === sessionId)?.ackedSeq;
}
