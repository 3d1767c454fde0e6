/**
 * The headers of the 0.6 resource's everyday answers, made once per Origin rather than once
 * per request: a poll answer and a send's `200 ok` differ between requests only in their
 * CORS headers (which depend on the Origin alone), their length and their cookie. Each is a
 * flat `[name, value, …]` list, the form `writeHead` takes without building an object.
 *
 * The cache is per resource and bounded: a page's visitors send one Origin or a few; a
 * client inventing Origins only makes the cache start over.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { BASE_HEADERS, corsHeaders } from '../http/replies.js';

/** At most this many Origins are remembered; past it the cache starts over. */
const MAX_ORIGINS = 64;

const TEXT = 'text/plain; charset=UTF-8';

export interface AnswerHeaders {
  /** CORS headers as an object (for errors and streams, which take one). */
  readonly cors: OutgoingHttpHeaders;
  /** An xhr-polling answer's headers, before Content-Length and Set-Cookie. */
  readonly poll: readonly string[];
  /** A send's `200 ok`, complete. */
  readonly ok: readonly (string | number)[];
}

export class AnswerHeaderCache {
  private readonly byOrigin = new Map<string, AnswerHeaders>();
  private readonly withoutOrigin: AnswerHeaders;

  /**
   * `allows(origin)`: the Origin passes the resource's rule (so CORS headers are sent);
   * `withCredentials(origin)`: an explicit allow-list names it.
   */
  constructor(
    private readonly allows: (origin: string | undefined) => boolean,
    private readonly withCredentials: (origin: string) => boolean,
  ) {
    this.withoutOrigin = answerHeaders({});
  }

  /**
   * The headers for a request with this Origin. Only requests whose Origin decides alone may
   * use it: when the Host matters too (`allowedHosts` is set), the caller builds them itself.
   */
  of(origin: string | undefined): AnswerHeaders {
    if (origin === undefined) return this.withoutOrigin;
    let headers = this.byOrigin.get(origin);
    if (headers === undefined) {
      const cors = this.allows(origin) ? corsHeaders(origin, this.withCredentials(origin)) : {};
      headers = answerHeaders(cors);
      if (this.byOrigin.size >= MAX_ORIGINS) this.byOrigin.clear();
      this.byOrigin.set(origin, headers);
    }
    return headers;
  }
}

/** The answer headers for a given set of CORS headers. */
export function answerHeaders(cors: OutgoingHttpHeaders): AnswerHeaders {
  const common = flatten({ ...BASE_HEADERS, ...cors });
  return Object.freeze({
    cors: Object.freeze(cors),
    poll: Object.freeze([...common, 'Content-Type', TEXT]),
    ok: Object.freeze([...common, 'Content-Type', TEXT, 'Content-Length', 2]),
  });
}

/** `{name: value}` as `[name, value, …]` (string values; the resource's headers are all strings). */
export function flatten(headers: OutgoingHttpHeaders): string[] {
  const list: string[] = [];
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) list.push(name, String(value));
  return list;
}
