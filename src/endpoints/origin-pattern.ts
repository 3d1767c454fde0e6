/**
 * Origin policy of plain websocket endpoints (go-macaron/sockets' `AllowedOrigin`, made
 * safe). A string pattern is a regular expression in which `{{host}}` stands for the
 * request's Host header (port included). Unlike the Go middleware, the host is escaped
 * before it is substituted (so host `my.site.com` does not admit `http://myxsite.com`) and
 * the whole pattern is anchored at both ends. Pure functions: the endpoint decides what a
 * refusal means (403).
 */
import { RealtimeError } from '../errors.js';

/** `string` (pattern with `{{host}}`), a RegExp, or a predicate over the Origin header value and Host. */
export type AllowedOrigin = string | RegExp | ((origin: string, host: string) => boolean | Promise<boolean>);

/** go-macaron's default: the page must come from the server's own host, over http or https. */
export const DEFAULT_ALLOWED_ORIGIN = 'https?://{{host}}';

/** Decides whether an Origin header value (or its absence) may open a socket. */
export type OriginCheck = (origin: string | undefined, host: string) => Promise<boolean>;

const PLACEHOLDER = /\{\{\s*host\s*\}\}/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** The anchored regular expression of a string pattern for one Host value. */
export function originPatternFor(pattern: string, host: string): RegExp {
  const source = pattern.replace(PLACEHOLDER, () => escapeRegExp(host.toLowerCase()));
  return new RegExp(`^(?:${source})$`, 'i');
}

/**
 * Compiles an `allowedOrigin` option. A string pattern is checked for syntax once, here
 * (with a sample host), so a broken pattern is a start-up error rather than a 403 per request.
 */
export function compileOriginCheck(allowed: AllowedOrigin, allowMissingOrigin: boolean): OriginCheck {
  const matches = matcherFor(allowed);
  return async (origin, host) => {
    if (origin === undefined) return allowMissingOrigin;
    return matches(origin, host);
  };
}

function matcherFor(allowed: AllowedOrigin): (origin: string, host: string) => boolean | Promise<boolean> {
  if (typeof allowed === 'function') return allowed;
  if (allowed instanceof RegExp) {
    // A global or sticky RegExp keeps lastIndex between calls; test a fresh copy each time.
    return (origin) => new RegExp(allowed.source, allowed.flags.replace(/[gy]/g, '')).test(origin);
  }
  try {
    originPatternFor(allowed, 'example.com:80');
  } catch (cause) {
    throw new RealtimeError('ERR_INVALID_OPTION', `allowedOrigin is not a valid pattern: ${String(cause)}`, {
      cause,
    });
  }
  return (origin, host) => originPatternFor(allowed, host).test(origin);
}
