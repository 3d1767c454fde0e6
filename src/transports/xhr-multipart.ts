/**
 * xhr-multipart (docs/protocol/socketio-0.6.md §4.4): old Firefox's `multipart = true` XHR. One
 * `multipart/x-mixed-replace` response lives as long as the session; each payload is one
 * part, and Firefox raised `readyState 4` once per part with that part's body:
 *
 *   --socketio\n
 *   Content-Type: text/plain\n\n~m~16~m~Ab3dE5gH7jK9mN1p\n--socketio\n
 *   Content-Type: text/plain\n\n~m~4~m~~h~1\n--socketio\n
 *
 * LF only, as the 0.6.18 server wrote it. The format has no escaping: a message holding
 * `\n--socketio\n` would be split by the client (a limit of the protocol).
 * Sends arrive as `POST …/<sessionId>/send`.
 */
import { attachStream } from './http-stream.js';
import type { HttpTransportModule, HttpTransportRequest } from './module.js';

export const MULTIPART_BOUNDARY = 'socketio';

export function multipartPart(payload: string): string {
  return `Content-Type: text/plain\n\n${payload}\n--${MULTIPART_BOUNDARY}\n`;
}

export const xhrMultipart: HttpTransportModule = {
  name: 'xhr-multipart',
  kind: 'http',
  attach(request: HttpTransportRequest): void {
    attachStream(request, {
      name: 'xhr-multipart',
      contentType: `multipart/x-mixed-replace;boundary="${MULTIPART_BOUNDARY}"`,
      preamble: `--${MULTIPART_BOUNDARY}\n`,
      frame: multipartPart,
    });
  },
};
