/**
 * htmlfile (docs/protocol/socketio-0.6.md §4.3): the "forever iframe" of Internet Explorer. One
 * chunked `text/html` response lives as long as the session; each payload is one script element:
 *
 *   <html><body>                    …244 spaces (256 bytes: IE runs nothing before that)
 *   <script>parent.s._("~m~16~m~Ab3dE5gH7jK9mN1p", document);</script>
 *   <script>parent.s._("~m~4~m~~h~1", document);</script>
 *
 * The payload string is escaped so that `</script>`, `<!--`, U+2028 and U+2029 cannot
 * break out of the element. Sends arrive as `POST …/<sessionId>/send`.
 */
import { attachStream } from './http-stream.js';
import type { HttpTransportModule, HttpTransportRequest } from './module.js';
import { scriptStringLiteral } from './script-string.js';

/** IE renders (and runs scripts of) a streamed document only after its first 256 bytes. */
export const HTMLFILE_PREAMBLE = '<html><body>' + ' '.repeat(244);

export function htmlfileChunk(payload: string): string {
  return `<script>parent.s._(${scriptStringLiteral(payload)}, document);</script>`;
}

export const htmlfile: HttpTransportModule = {
  name: 'htmlfile',
  kind: 'http',
  attach(request: HttpTransportRequest): void {
    attachStream(request, {
      name: 'htmlfile',
      // A charset of its own: the iframe must not inherit a non-UTF-8 parent's encoding.
      contentType: 'text/html; charset=UTF-8',
      preamble: HTMLFILE_PREAMBLE,
      frame: htmlfileChunk,
    });
  },
};
