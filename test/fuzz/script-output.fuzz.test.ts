/**
 * Script injection through the two transports that write payloads into JavaScript: htmlfile
 * (`<script>parent.s._("…", document);</script>` inside an HTML document) and jsonp-polling
 * (`io.JSONP[i]._("…");` run as a script). For random strings heavy with what breaks out of
 * scripts and string literals — `</script>`, `<!--`, `<script`, U+2028/U+2029, quotes,
 * backslashes, astral characters, lone surrogates — each output must hold exactly one call,
 * whose argument is the payload itself, and nothing an HTML tokenizer would read as the end
 * of the element. The same strings then go through a live server to real clients.
 */
import fc from 'fast-check';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flashPolicy } from '../../src/http/flash-policy.js';
import { parseOrigins } from '../../src/http/origins.js';
import { htmlfileChunk } from '../../src/transports/htmlfile.js';
import { jsonpCall } from '../../src/transports/jsonp-polling.js';
import { fuzzParameters } from '../helpers/fuzz.js';
import { JsonpClient, StreamClient } from '../helpers/legacy-http.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { watchProcessFailures } from '../helpers/process-failures.js';

const hostile = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '</script>',
        '</SCRIPT >',
        '</script',
        '<script>',
        '<!--',
        '-->',
        '<![CDATA[',
        ']]>',
        '\u2028',
        '\u2029',
        '"',
        "'",
        '`',
        '\\',
        '\\u003c',
        '${x}',
        '\n',
        '\r',
        '\0',
        '&lt;',
        ');alert(1);//',
        '😀',
        '\ud800',
        '\udfff',
        '~m~',
      ),
      fc.string({ unit: 'binary', maxLength: 6 }),
    ),
    { maxLength: 16 },
  )
  .map((parts) => parts.join(''));

/** Runs a script body with only `names` in scope; returns the arguments of every `_` call. */
function callsOf(body: string, context: (record: (...args: unknown[]) => void) => object): unknown[][] {
  const calls: unknown[][] = [];
  runInNewContext(
    body,
    context((...args) => calls.push(args)),
    { timeout: 1_000 },
  );
  return calls;
}

describe('script output under fuzzing', () => {
  it('htmlfile: one script element, closed only at its end, whose one call hands over the payload', () => {
    fc.assert(
      fc.property(hostile, (payload) => {
        const chunk = htmlfileChunk(payload);
        const lower = chunk.toLowerCase();
        // What an HTML tokenizer acts on inside a script element: its end tag, and the
        // `<!--` / `<script` pair of the "double escaped" state.
        expect(lower.startsWith('<script>')).toBe(true);
        expect(lower.endsWith('</script>')).toBe(true);
        expect(lower.indexOf('</script')).toBe(chunk.length - '</script>'.length);
        expect(lower.lastIndexOf('<script')).toBe(0);
        expect(chunk).not.toContain('<!--');
        expect(chunk).not.toMatch(/[\u2028\u2029]/);
        const script = chunk.slice('<script>'.length, -'</script>'.length);
        const document = { marker: 'document' };
        const calls = callsOf(script, (record) => ({ parent: { s: { _: record } }, document }));
        expect(calls).toEqual([[payload, document]]);
      }),
      fuzzParameters(400),
    );
  });

  it('jsonp-polling: exactly one callback call whose argument is the payload, nothing else run', () => {
    fc.assert(
      fc.property(hostile, fc.nat({ max: 999_999 }), (payload, index) => {
        const body = jsonpCall(index, payload);
        expect(body).not.toMatch(/[<>\u2028\u2029]/);
        const context = (record: (...args: unknown[]) => void) => {
          const JSONP: unknown[] = [];
          JSONP[index] = { _: record };
          return { io: { JSONP } };
        };
        expect(callsOf(body, context)).toEqual([[payload]]);
      }),
      fuzzParameters(400),
    );
  });
});

describe('Flash policy under fuzzing', () => {
  it('lists exactly the origins given, one element each, and nothing can break out of an attribute', () => {
    const entry = fc
      .tuple(
        fc.oneof(fc.domain(), fc.constant('*'), fc.string({ maxLength: 10 })),
        fc.oneof(fc.nat(65_535), fc.constant('*')),
      )
      .map(([host, port]) => `${host}:${port}`);
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 5 }), (origins) => {
        const rules = parseOrigins(origins);
        const policy = flashPolicy(rules);
        const elements = [...policy.matchAll(/<allow-access-from domain="([^"<>]*)" to-ports="([^"<>]*)"\/>\n/g)];
        // Every element is whole (no quote or bracket inside an attribute) and there is one per rule.
        expect(elements).toHaveLength(rules.length);
        expect(policy.match(/<allow-access-from /g)).toHaveLength(rules.length);
        const unescape = (text: string) =>
          text
            .replace(/&apos;/g, "'")
            .replace(/&quot;/g, '"')
            .replace(/&lt;/g, '<')
            .replace(/&gt;/g, '>')
            .replace(/&amp;/g, '&');
        elements.forEach((element, i) => {
          expect(unescape(element[1]!)).toBe(rules[i]!.host);
          expect(unescape(element[2]!)).toBe(rules[i]!.port);
        });
        expect(policy.endsWith('</cross-domain-policy>\n\0')).toBe(true);
      }),
      fuzzParameters(300),
    );
  });
});

describe('script output through a live server', () => {
  let started: StartedServer;
  let failures: ReturnType<typeof watchProcessFailures>;
  let htmlfile: StreamClient;
  let jsonp: JsonpClient;
  beforeAll(async () => {
    failures = watchProcessFailures();
    started = await startServer({ heartbeatIntervalMs: 0, pollDurationMs: 2_000 });
    htmlfile = await StreamClient.open(started.baseUrl, 'htmlfile');
    jsonp = JsonpClient.start(started.baseUrl, 42);
    await Promise.all([htmlfile.waitForSession(), jsonp.waitForSession()]);
  });
  afterAll(async () => {
    htmlfile.close();
    jsonp.close();
    await started.close();
    failures.stop();
  });

  it('hands every hostile payload to the htmlfile and JSONP clients unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (payload) => {
        for (const client of [htmlfile, jsonp]) {
          client.messages.length = 0;
          expect(started.server.getConn(client.sessionId)!.send(payload).ok).toBe(true);
        }
        await waitFor(() => htmlfile.messages.length > 0 && jsonp.messages.length > 0, {
          timeoutMs: 3_000,
          what: 'the payload at both clients',
        });
        // Lone surrogates included: JSON.stringify writes them as \uXXXX escapes, so they
        // survive the UTF-8 wire unchanged.
        const expected = payload;
        expect(htmlfile.messages).toEqual([{ type: 'text', data: expected }]);
        expect(jsonp.messages).toEqual([{ type: 'text', data: expected }]);
      }),
      fuzzParameters(40),
    );
    // parseHtmlfile throws on any byte outside an exact script element; JsonpClient on a
    // body with other than one call: either would show here or as a process failure.
    expect(jsonp.error).toBeUndefined();
    expect(failures.list()).toEqual([]);
  });
});
