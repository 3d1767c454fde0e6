/**
 * The `origins` allow-list of Socket.IO 0.6: entries `host:port`, `host:*`, `*:port`,
 * `*:*`, `host` (any port) or `*`. An Origin without a port counts as 80 for http/ws and
 * 443 for https/wss. Pure functions; the HTTP edge decides what a refusal means.
 */
export interface OriginRule {
  readonly host: string;
  readonly port: string;
}

export function parseOrigins(origins: string | readonly string[]): OriginRule[] {
  const list = typeof origins === 'string' ? origins.split(/[\s,]+/) : origins;
  return list
    .filter((entry) => entry !== '')
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      if (colon === -1) return { host: entry.toLowerCase(), port: '*' };
      return { host: entry.slice(0, colon).toLowerCase() || '*', port: entry.slice(colon + 1) || '*' };
    });
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'ws:': '80', 'https:': '443', 'wss:': '443' };

/** The host and port an Origin header names, or null when it names none (`null`, junk). */
function originHostPort(origin: string): OriginRule | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  const port = url.port || DEFAULT_PORTS[url.protocol];
  if (url.hostname === '' || port === undefined) return null;
  return { host: url.hostname.toLowerCase(), port };
}

/** Whether an Origin header value passes; a missing header always does (same-origin GET). */
export function isOriginAllowed(rules: readonly OriginRule[], origin: string | undefined): boolean {
  if (origin === undefined) return true;
  const target = originHostPort(origin);
  return rules.some((rule) => {
    if (target === null) return rule.host === '*' && rule.port === '*';
    return (rule.host === '*' || rule.host === target.host) && (rule.port === '*' || rule.port === target.port);
  });
}

/**
 * Whether an Origin is named by an explicit entry of the list (its host is not `*`): only
 * such origins get credentials (`Access-Control-Allow-Credentials`), never `*:*`.
 */
export function isExplicitlyAllowed(rules: readonly OriginRule[], origin: string | undefined): boolean {
  if (origin === undefined) return false;
  return isOriginAllowed(
    rules.filter((rule) => rule.host !== '*'),
    origin,
  );
}

/** Allows everything: the stock client works out of the box. */
export const ALLOW_ALL_ORIGINS = '*:*';

/**
 * Whether an Origin header names the very host the request was sent to (the Host header).
 * An Origin that is no URL (`null` from sandboxed frames) is never same-origin.
 */
export function isSameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || host === undefined) return false;
  const target = URL.canParse(origin) ? new URL(origin) : null;
  return target !== null && target.host !== '' && target.host.toLowerCase() === host.toLowerCase();
}
