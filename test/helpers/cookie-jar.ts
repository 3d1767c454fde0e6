/**
 * A browser's cookie jar for same-site requests, as far as the cluster tests need it
 * (RFC 6265 §5.2–5.4): it keeps every `Set-Cookie` of every answer (polls, handshakes,
 * websocket upgrades) and gives the `Cookie` header for a URL. Path-scoped (default path
 * from the request URL, §5.1.4 path-match), host-only unless `Domain` names a parent,
 * `Secure` cookies only over https/wss, `Max-Age` before `Expires`, and `Max-Age=0` (or an
 * `Expires` in the past) deletes. `HttpOnly` and `SameSite` change nothing for requests a
 * page sends to its own origin, so they are kept but not enforced.
 *
 * A URL may be given as a path alone (`/socket.io/websocket`): it is then a path on the jar's
 * origin (`http://127.0.0.1` unless the constructor names another), so tests of one server
 * need not spell out its address.
 */

export interface Cookie {
  readonly name: string;
  readonly value: string;
  readonly domain: string;
  readonly isHostOnly: boolean;
  readonly path: string;
  readonly isSecure: boolean;
  readonly isHttpOnly: boolean;
  readonly sameSite: string | undefined;
  /** Epoch ms; undefined for a session cookie. */
  readonly expiresAt: number | undefined;
  readonly createdAt: number;
}

export interface CookieJarOptions {
  /** Where path-only URLs point. Default `http://127.0.0.1`. */
  origin?: string;
  /** The clock (epoch ms), for expiry. Default Date.now. */
  now?: () => number;
}

export class CookieJar {
  private cookies: Cookie[] = [];
  private clock = 0;
  private readonly origin: string;
  private readonly now: () => number;

  constructor(options: CookieJarOptions = {}) {
    this.origin = options.origin ?? 'http://127.0.0.1';
    this.now = options.now ?? Date.now;
  }

  /**
   * Stores (or deletes) what each `Set-Cookie` value of an answer to `url` says; without
   * `url`, an answer to the origin's root (so the default path is `/`).
   */
  store(setCookie: string | readonly string[] | undefined, url: string | URL = '/'): void {
    if (setCookie === undefined) return;
    for (const header of typeof setCookie === 'string' ? [setCookie] : setCookie)
      this.storeOne(this.resolve(url), header);
  }

  /** The `Cookie` header a browser sends with a request to `url`; undefined when no cookie applies. */
  header(url: string | URL): string | undefined {
    const pairs = this.matching(this.resolve(url)).map((cookie) => `${cookie.name}=${cookie.value}`);
    return pairs.length === 0 ? undefined : pairs.join('; ');
  }

  /** Names and values of the live cookies, oldest first. */
  entries(): Array<[string, string]> {
    return this.all().map((cookie) => [cookie.name, cookie.value]);
  }

  /** A copy: another tab of the same browser shares the jar; a copy is a snapshot of it. */
  clone(): CookieJar {
    const copy = new CookieJar({ origin: this.origin, now: this.now });
    copy.cookies = [...this.cookies];
    copy.clock = this.clock;
    return copy;
  }

  /** The live cookies, for assertions. */
  all(): Cookie[] {
    this.dropExpired();
    return [...this.cookies].sort((a, b) => a.createdAt - b.createdAt);
  }

  get(name: string): Cookie | undefined {
    return this.all().find((cookie) => cookie.name === name);
  }

  clear(): void {
    this.cookies = [];
  }

  private resolve(url: string | URL): URL {
    return new URL(url, this.origin);
  }

  private storeOne(url: URL, header: string): void {
    const parsed = parseSetCookie(header, url, this.now());
    if (parsed === undefined) return;
    const createdAt = this.cookies.find((old) => sameKey(old, parsed))?.createdAt ?? this.now() + ++this.clock / 1e6;
    this.cookies = this.cookies.filter((old) => !sameKey(old, parsed));
    // An expiry in the past is a deletion (§5.3 step 11: the old one is gone, nothing new stored).
    if (parsed.expiresAt !== undefined && parsed.expiresAt <= this.now()) return;
    this.cookies.push({ ...parsed, createdAt });
  }

  /** §5.4: domain and path match, Secure only on secure schemes; longer paths first, then older. */
  private matching(url: URL): Cookie[] {
    this.dropExpired();
    const isSecure = url.protocol === 'https:' || url.protocol === 'wss:';
    const host = url.hostname.toLowerCase();
    return this.cookies
      .filter((cookie) => (cookie.isHostOnly ? host === cookie.domain : domainMatches(host, cookie.domain)))
      .filter((cookie) => pathMatches(url.pathname || '/', cookie.path))
      .filter((cookie) => isSecure || !cookie.isSecure)
      .sort((a, b) => b.path.length - a.path.length || a.createdAt - b.createdAt);
  }

  private dropExpired(): void {
    const now = this.now();
    this.cookies = this.cookies.filter((cookie) => cookie.expiresAt === undefined || cookie.expiresAt > now);
  }
}

type ParsedCookie = Omit<Cookie, 'createdAt'>;

function sameKey(a: ParsedCookie, b: ParsedCookie): boolean {
  return a.name === b.name && a.domain === b.domain && a.path === b.path;
}

/** §5.2: name=value, then attributes; unknown attributes are ignored, a nameless pair is dropped. */
function parseSetCookie(header: string, url: URL, now: number): ParsedCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const equals = pair.indexOf('=');
  if (equals <= 0) return undefined;
  const host = url.hostname.toLowerCase();
  const cookie = {
    name: pair.slice(0, equals).trim(),
    value: pair.slice(equals + 1).trim(),
    domain: host,
    isHostOnly: true,
    path: defaultPath(url.pathname),
    isSecure: false,
    isHttpOnly: false,
    sameSite: undefined as string | undefined,
    expiresAt: undefined as number | undefined,
  };
  let maxAgeAt: number | undefined;
  for (const attribute of attributes) {
    const [rawKey = '', ...rest] = attribute.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (key === 'path' && value.startsWith('/')) cookie.path = value;
    else if (key === 'secure') cookie.isSecure = true;
    else if (key === 'httponly') cookie.isHttpOnly = true;
    else if (key === 'samesite') cookie.sameSite = value;
    else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAgeAt = Number(value) <= 0 ? 0 : now + Number(value) * 1000;
    else if (key === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expiresAt = Date.parse(value);
    else if (key === 'domain' && value !== '') {
      const domain = value.replace(/^\./, '').toLowerCase();
      // §5.3 step 6: a Domain the request host is not inside of rejects the whole cookie.
      if (!domainMatches(host, domain)) return undefined;
      cookie.domain = domain;
      cookie.isHostOnly = false;
    }
  }
  // §5.3 step 3: Max-Age wins over Expires.
  if (maxAgeAt !== undefined) cookie.expiresAt = maxAgeAt;
  return cookie;
}

/** §5.1.4: the request path up to, not including, its last '/'; '/' when that leaves nothing. */
function defaultPath(pathname: string): string {
  if (!pathname.startsWith('/')) return '/';
  const last = pathname.lastIndexOf('/');
  return last <= 0 ? '/' : pathname.slice(0, last);
}

/** §5.1.4 path-match. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** §5.1.3 domain-match; an IP address matches only itself. */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  return !isIp && host.endsWith(`.${domain}`);
}
