/**
 * jsonp-polling (docs/protocol/socketio-0.6.md §4.6): each poll is a `<script>` the client inserts,
 * answered with a call of its callback, also when there is nothing to say (an answer without the
 * call would stop the client's poll loop):
 *
 *   GET /socket.io/jsonp-polling/<sessionId>/<ts>/<index>
 *   io.JSONP[0]._("~m~16~m~Ab3dE5gH7jK9mN1p");
 *   io.JSONP[0]._("");
 *
 * `<index>` comes from the last path segment and must be a short decimal number; anything
 * else is refused with 400 before a session is made, and never written into the script.
 * Sends come from a hidden form (`data=`, form encoding) whose textarea turned every line
 * break into CRLF after the client had counted the frame lengths; CRLF goes back to LF.
 */
import { RealtimeError } from '../errors.js';
import { jsonpIndex } from '../http/router.js';
import { BASE_HEADERS } from '../http/replies.js';
import type { HttpTransportModule, HttpTransportRequest } from './module.js';
import { scriptStringLiteral } from './script-string.js';
import { flatten } from './answer-headers.js';
import { PollTransport } from './xhr-polling.js';

/** No CORS headers: a script element needs none, and they would only widen reach. */
const JSONP_HEADERS: readonly string[] = Object.freeze([
  ...flatten(BASE_HEADERS),
  'Content-Type',
  'text/javascript; charset=UTF-8',
]);

export function jsonpCall(index: number, payload: string): string {
  return `io.JSONP[${index}]._(${scriptStringLiteral(payload)});`;
}

export const jsonpPolling: HttpTransportModule = {
  name: 'jsonp-polling',
  kind: 'http',
  validate(route) {
    if (jsonpIndex(route.rest) !== null) return null;
    return new RealtimeError('ERR_BAD_CALLBACK', 'the JSONP index (last path segment) must be 1–6 decimal digits');
  },
  attach({ route, res, conn, pollDeadlines, cookie }: HttpTransportRequest): void {
    // validate() has run: the index is a number of at most six digits.
    const index = jsonpIndex(route.rest) ?? 0;
    const wrap = (payload: string) => jsonpCall(index, payload);
    conn.attach(new PollTransport('jsonp-polling', res, conn, JSONP_HEADERS, wrap, pollDeadlines, cookie));
  },
  normalizeSend(payload: string): string {
    return payload.replace(/\r\n/g, '\n');
  },
};
