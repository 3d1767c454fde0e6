/**
 * The pure framing of the legacy transports: the script-safe string literal (htmlfile,
 * jsonp-polling), each transport's wrapper, and the Flash policy document.
 */
import fc from 'fast-check';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { flashPolicy, isPolicyRequest, POLICY_REQUEST } from '../../src/http/flash-policy.js';
import { parseOrigins } from '../../src/http/origins.js';
import { HTMLFILE_PREAMBLE, htmlfileChunk } from '../../src/transports/htmlfile.js';
import { jsonpCall } from '../../src/transports/jsonp-polling.js';
import { scriptStringLiteral } from '../../src/transports/script-string.js';
import { multipartPart } from '../../src/transports/xhr-multipart.js';

describe('scriptStringLiteral', () => {
  it.each([
    ['</script>', '"\\u003c/script\\u003e"'],
    ['<!--', '"\\u003c!--"'],
    ['a&b', '"a\\u0026b"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['héllo 日本 😀', '"héllo 日本 😀"'],
    ['"\\\n', '"\\"\\\\\\n"'],
  ])('writes %j as %s', (input, expected) => {
    expect(scriptStringLiteral(input)).toBe(expected);
  });

  it('never contains markup or line separators, and always evaluates back to the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (input) => {
        const literal = scriptStringLiteral(input);
        expect(literal).not.toMatch(/[<>&\u2028\u2029]/);
        expect(JSON.parse(literal)).toBe(input);
        expect(runInNewContext(literal)).toBe(input);
      }),
      { numRuns: 100 },
    );
  });
});

describe('transport wrappers', () => {
  it('htmlfile: a 256-byte preamble and one script element per payload', () => {
    expect(Buffer.byteLength(HTMLFILE_PREAMBLE)).toBe(256);
    expect(htmlfileChunk('~m~4~m~~h~1')).toBe('<script>parent.s._("~m~4~m~~h~1", document);</script>');
  });

  it('jsonp-polling: a callback call that runs and hands over the payload unchanged', () => {
    fc.assert(
      fc.property(fc.nat({ max: 999_999 }), fc.string({ unit: 'binary' }), (index, payload) => {
        const calls: string[] = [];
        const JSONP: unknown[] = [];
        JSONP[index] = { _: (value: string) => calls.push(value) };
        runInNewContext(jsonpCall(index, payload), { io: { JSONP } });
        expect(calls).toEqual([payload]);
      }),
      { numRuns: 100 },
    );
    expect(jsonpCall(0, '')).toBe('io.JSONP[0]._("");');
  });

  it('xhr-multipart: the part layout of 0.6.18, LF only', () => {
    expect(multipartPart('~m~2~m~hi')).toBe('Content-Type: text/plain\n\n~m~2~m~hi\n--socketio\n');
  });
});

describe('Flash policy', () => {
  it('allows every domain and port for *:*, and ends with a NUL', () => {
    const policy = flashPolicy(parseOrigins('*:*'));
    expect(policy).toContain('<allow-access-from domain="*" to-ports="*"/>\n');
    expect(policy.endsWith('</cross-domain-policy>\n\0')).toBe(true);
  });

  it('escapes what it writes into attributes', () => {
    expect(flashPolicy([{ host: 'a"b<c', port: '80' }])).toContain('domain="a&quot;b&lt;c" to-ports="80"');
  });

  it.each([
    [POLICY_REQUEST, true],
    ['<policy-file-request/>', true],
    ['<policy', true],
    ['<html>', false],
    ['GET / HTTP/1.1', false],
    ['', false],
  ])('recognises %j as a policy request: %s', (text, expected) => {
    expect(isPolicyRequest(Buffer.from(text, 'latin1'))).toBe(expected);
  });
});
