/**
 * Property-based fuzzing of every codec: random strings, random frame soups and every split
 * of valid input. A decoder never throws, answers `ok` or one of its two documented codes,
 * and round-trips what the encoder made. Reproduce a failure with SWITCHYARD_FUZZ_SEED.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODECS, sacSock } from '../../src/codecs/index.js';
import { decode, encodeFrame, FRAME_MARKER } from '../../src/codecs/sio.js';
import { codePointLength, StreamingDecoder } from '../../src/codecs/streaming.js';
import type { Codec, DecodeResult, InboundMessage } from '../../src/codecs/types.js';
import { fuzzParameters } from '../helpers/fuzz.js';

const DECODE_ERRORS = new Set(['ERR_MALFORMED_FRAME', 'ERR_TOO_LARGE']);

/** Text that leans on what codecs trip over: markers, digits, separators, surrogates. */
const hostileText = fc
  .array(
    fc.oneof(
      fc.constantFrom('~m~', '~j~', '~h~', '~', 'm', ':', ',', '\n', '0', '9', '12', '😀', '\ud800', '\udc00', 'é', ''),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));

function expectDocumented(result: DecodeResult<InboundMessage[]>): void {
  if (!result.ok) expect(DECODE_ERRORS).toContain(result.error.code);
}

/** A value as the session layer would send it, and the message the peer decodes. */
const outbound = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => ({ kind: 'text' as const, text })),
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, json: JSON.stringify(value) })),
);

function encodeOutbound(codec: Codec, item: { kind: 'text'; text: string } | { kind: 'json'; json: string }): string {
  return item.kind === 'text' ? codec.encodeText(item.text) : codec.encodeJson(item.json);
}

describe.each(Object.values(CODECS))('codec $name under fuzzing', (codec) => {
  it('never throws on random input and fails only with a documented code', () => {
    fc.assert(
      fc.property(hostileText, fc.integer({ min: 0, max: 64 }), (input, maxFrameLength) => {
        const decoder = codec.createDecoder({ maxFrameLength });
        expectDocumented(decoder.push(input));
        expectDocumented(decoder.push(input));
      }),
      fuzzParameters(300),
    );
  });

  it('round-trips every encoded batch of text and JSON', () => {
    fc.assert(
      fc.property(fc.array(outbound, { maxLength: 8 }), (items) => {
        // madari's encoder writes nothing for an empty text message: nothing to read back.
        const kept = codec.name === 'sio-streaming' ? items.filter((i) => i.kind !== 'text' || i.text !== '') : items;
        const payload = kept.map((item) => encodeOutbound(codec, item)).join('');
        const result = codec.createDecoder({ maxFrameLength: Infinity }).push(payload);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.value).toHaveLength(kept.length);
        result.value.forEach((message, i) => {
          const item = kept[i]!;
          if (item.kind === 'text') expect(message.type === 'text' || message.type === 'json-invalid').toBe(true);
          else expect(message).toEqual({ type: 'json', data: JSON.parse(item.json) as unknown });
        });
      }),
      fuzzParameters(200),
    );
  });

  it('refuses a frame longer than maxFrameLength with ERR_TOO_LARGE, never by truncating', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 2, maxLength: 60 }), (text) => {
        const frame = codec.encodeText(text);
        const limit = codec.name === 'sio' ? text.length - 1 : codePointLength(':' + text) - 1;
        const result = codec.createDecoder({ maxFrameLength: limit }).push(frame);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error.code).toBe('ERR_TOO_LARGE');
      }),
      fuzzParameters(150),
    );
  });
});

describe('sio codec specifics', () => {
  it('rejects a payload with any byte cut off the end of its last frame (strict, never truncates)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 5 }), fc.nat(), (texts, cut) => {
        const payload = texts.map(encodeFrame).join('');
        const last = encodeFrame(texts[texts.length - 1]!);
        const drop = 1 + (cut % last.length);
        const result = decode(payload.slice(0, payload.length - drop));
        // Cutting a whole last frame leaves a valid shorter payload; anything else is malformed.
        if (drop === last.length) expect(result.ok).toBe(true);
        else expect(result).toMatchObject({ ok: false, error: { code: 'ERR_MALFORMED_FRAME' } });
      }),
      fuzzParameters(200),
    );
  });

  it('reads declared lengths of any digit count without overflow or a crash', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,40}$/), fc.string({ maxLength: 20 }), (digits, rest) => {
        const result = decode(FRAME_MARKER + digits + FRAME_MARKER + rest, 1_000);
        expectDocumented(result);
      }),
      fuzzParameters(200),
    );
  });
});

describe('streaming decoder specifics', () => {
  it('yields the same messages for every split of valid input', () => {
    const codec = CODECS['sio-streaming'];
    fc.assert(
      fc.property(
        fc.array(outbound, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (items, cuts) => {
          const payload = items.map((item) => encodeOutbound(codec, item)).join('');
          const whole = new StreamingDecoder().push(payload);
          const points = [...new Set(cuts.map((cut) => cut % (payload.length + 1)))].sort((a, b) => a - b);
          const decoder = new StreamingDecoder();
          const pieces: unknown[] = [];
          let from = 0;
          for (const point of [...points, payload.length]) {
            const result = decoder.push(payload.slice(from, point));
            expect(result.ok).toBe(true);
            if (result.ok) pieces.push(...result.value);
            from = point;
          }
          expect(whole.ok).toBe(true);
          if (whole.ok) expect(pieces).toEqual(whole.value);
          expect(decoder.isIncomplete).toBe(false);
        },
      ),
      fuzzParameters(200),
    );
  });
});

describe('sac-sock codec under fuzzing', () => {
  const name = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.constantFrom('', 'a\x01b', 'a\x02b', 'é', '😀'),
  );
  const value = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.uint8Array({ maxLength: 30 }).map((bytes) => Buffer.from(bytes)),
    fc.jsonValue({ maxDepth: 2 }),
  );

  it('parses any client frame without throwing: null, or a name and the bytes after the first 0x02', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, isBinary) => {
        const frame = Buffer.from(bytes);
        const parsed = sacSock.parseClientFrame(frame, isBinary);
        const split = frame.indexOf(0x02);
        if (split <= 0) expect(parsed).toBeNull();
        else {
          expect(parsed!.event).not.toBe('');
          expect(Buffer.compare(parsed!.payload, frame.subarray(split + 1))).toBe(0);
        }
      }),
      fuzzParameters(300),
    );
  });

  it('reads back what the client encoder writes, and refuses bad names on the way out', () => {
    fc.assert(
      fc.property(name, value, (event, data) => {
        const encoded = sacSock.encodeServerFrame(event, data);
        const problem = sacSock.checkEventName(event, sacSock.isBytes(data));
        expect(encoded.ok).toBe(problem === null);
        if (!encoded.ok) expect(encoded.error.code).toBe('ERR_INVALID_MESSAGE');
        // The browser client's frames: the name comes back whole unless it holds a 0x02
        // itself (the protocol has no escaping).
        const client = sacSock.encodeClientFrame(event, data);
        const parsed = sacSock.parseClientFrame(client.data, client.isBinary);
        // A binary frame's name is one byte per UTF-16 unit (cut to 8 bits), so only ASCII
        // names survive it.
        const isAscii = [...event].every((char) => char.charCodeAt(0) < 0x80);
        if (event === '' || event.includes('\x02') || (client.isBinary && !isAscii)) return;
        expect(parsed).not.toBeNull();
        expect(parsed!.event).toBe(event);
      }),
      fuzzParameters(300),
    );
  });
});
