/**
 * Who may see `/metrics` and the dashboard. On a loopback address only this machine can reach
 * them, so nothing is asked. Bound anywhere else they need the admin token: as
 * `Authorization: Bearer <token>` (Prometheus, curl), or — a browser sends no header on a page
 * load or a websocket handshake — as the HttpOnly cookie the dashboard's login form sets. The
 * cookie holds an HMAC of the token, not the token: it cannot be turned back into one, and
 * changing the token signs every browser out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const ADMIN_COOKIE = 'switchyard_admin';

/** Whether `address` (as `server.address()` reports it) is a loopback address. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class AdminGate {
  private readonly cookieValue: string | undefined;

  constructor(
    private readonly token: string | undefined,
    /** Whether the server listens on a loopback address only (then no token is asked). */
    private readonly isLoopback: () => boolean,
  ) {
    this.cookieValue =
      token === undefined || token === ''
        ? undefined
        : createHmac('sha256', token).update('switchyard dashboard').digest('base64url');
  }

  /** Whether a token is needed here at all. */
  get isRequired(): boolean {
    return !this.isLoopback();
  }

  /** Whether an admin token is configured (off loopback, without one nothing gets in). */
  get hasToken(): boolean {
    return this.cookieValue !== undefined;
  }

  /** The token typed into the login form (or sent as a header) is the right one. */
  isToken(candidate: string): boolean {
    return this.token !== undefined && this.token !== '' && sameText(candidate, this.token);
  }

  /** `/metrics`: loopback, or the Bearer token (the cookie too, for a browser already signed in). */
  allows(req: IncomingMessage): boolean {
    if (!this.isRequired) return true;
    const header = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (bearer !== undefined && this.isToken(bearer)) return true;
    const cookie = cookieOf(req, ADMIN_COOKIE);
    return cookie !== undefined && this.cookieValue !== undefined && sameText(cookie, this.cookieValue);
  }

  /** The Set-Cookie header of a successful login, scoped to the dashboard's path. */
  setCookie(path: string, isSecure: boolean): string {
    const attributes = [`Path=${path}`, 'HttpOnly', 'SameSite=Strict', 'Max-Age=43200'];
    if (isSecure) attributes.push('Secure');
    return `${ADMIN_COOKIE}=${this.cookieValue ?? ''}; ${attributes.join('; ')}`;
  }
}

/** One cookie's value from the request's Cookie header. */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
