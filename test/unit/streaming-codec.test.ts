import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  StreamingDecoder,
  codePointLength,
  encodeStreaming,
  streamingCodec,
  type StreamingOutbound,
} from '../../src/codecs/streaming.js';
import { loadVectors } from '../helpers/vectors.js';

interface VectorInput {
  readonly kind: 'string' | 'int' | 'json' | 'heartbeat' | 'handshake' | 'disconnect';
  readonly value: unknown;
}

interface DecodeOutput {
  readonly messages?: unknown[];
  readonly incomplete?: boolean;
  readonly error?: string;
}

/** The vectors speak madari's Go kinds; this is what each becomes here. */
function toOutbound({ kind, value }: VectorInput): StreamingOutbound {
  switch (kind) {
    case 'string':
      return { kind: 'text', value: value as string };
    case 'int':
      // madari sends Go ints as text.
      return { kind: 'text', value: String(value) };
    case 'json':
      return { kind: 'json', value };
    case 'heartbeat':
      return { kind: 'heartbeat', value: value as number };
    case 'handshake':
      return { kind: 'handshake', value: value as string };
    case 'disconnect':
      // The vector's value 0 is madari's Go constant for the disconnect type. madari's
      // encoder has no case for it and sends it through the JSON branch ("1:4:j\n:0,"),
      // so the expected output is that of the JSON value 0.
      return { kind: 'json', value };
  }
}

const vectors = loadVectors().filter((vector) => vector.codec === 'sio-streaming');
const encodeVectors = vectors.filter((vector) => vector.direction === 'encode');
const decodeVectors = vectors.filter((vector) => vector.direction === 'decode');

describe('sio-streaming codec: fixture vectors', () => {
  it('has the vectors it expects', () => {
    expect(encodeVectors.length).toBeGreaterThanOrEqual(14);
    expect(decodeVectors.length).toBeGreaterThanOrEqual(19);
  });

  it.each(encodeVectors.map((vector) => [vector.id, vector] as const))('%s encodes', (_id, vector) => {
    expect(encodeStreaming(toOutbound(vector.input as VectorInput))).toBe(vector.output);
  });

  it.each(decodeVectors.map((vector) => [vector.id, vector] as const))('%s decodes', (_id, vector) => {
    const expected = vector.output as DecodeOutput;
    const decoder = new StreamingDecoder();
    const result = decoder.push(vector.input as string);
    if (expected.error !== undefined) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('ERR_MALFORMED_FRAME');
      expect(decoder.isIncomplete).toBe(false);
      return;
    }
    expect(result).toEqual({ ok: true, value: expected.messages });
    expect(decoder.isIncomplete).toBe(expected.incomplete === true);
  });

  it('encodes the disconnect message it can decode', () => {
    expect(encodeStreaming({ kind: 'disconnect' })).toBe('0:0:,');
    expect(new StreamingDecoder().push('0:0:,')).toEqual({ ok: true, value: [{ type: 'disconnect', data: '' }] });
  });
});

describe('sio-streaming codec: decoder state', () => {
  it('keeps a partial frame and finishes it with the next push', () => {
    const decoder = new StreamingDecoder();
    expect(decoder.push('1:6::hel')).toEqual({ ok: true, value: [] });
    expect(decoder.isIncomplete).toBe(true);
    expect(decoder.push('lo,2:1:7,')).toEqual({
      ok: true,
      value: [
        { type: 'text', data: 'hello' },
        { type: 'heartbeat', data: '7' },
      ],
    });
    expect(decoder.isIncomplete).toBe(false);
  });

  it('starts afresh after an error', () => {
    const decoder = new StreamingDecoder();
    expect(decoder.push('1:3::fael!,').ok).toBe(false);
    expect(decoder.push('1:3::ok,')).toEqual({ ok: true, value: [{ type: 'text', data: 'ok' }] });
  });

  it('refuses a declared length over maxFrameLength before buffering the body', () => {
    const decoder = new StreamingDecoder(10);
    const result = decoder.push('1:11:');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('ERR_TOO_LARGE');
    expect(decoder.isIncomplete).toBe(false);
  });

  it('refuses a length field with too many digits, and junk that never reaches its ":"', () => {
    expect(new StreamingDecoder().push('1:' + '9'.repeat(30) + ':').ok).toBe(false);
    expect(new StreamingDecoder().push('1:' + '9'.repeat(100)).ok).toBe(false);
    expect(new StreamingDecoder().push('x'.repeat(100)).ok).toBe(false);
  });

  it('waits for the ":" of a header field before judging it (a next frame may still be arriving)', () => {
    const decoder = new StreamingDecoder();
    expect(decoder.push('1:2::a,1')).toEqual({ ok: true, value: [{ type: 'text', data: 'a' }] });
    expect(decoder.isIncomplete).toBe(true);
    expect(decoder.push('2')).toEqual({ ok: true, value: [] });
    expect(decoder.push(':x:')).toMatchObject({ ok: false });
  });

  it('gives the session layer parsed JSON', () => {
    const decoder = streamingCodec.createDecoder({ maxFrameLength: 1000 });
    expect(decoder.push('1:10:j\n:{"a":1},1:8:j\n:{oops,')).toEqual({
      ok: true,
      value: [
        { type: 'json', data: { a: 1 } },
        { type: 'json-invalid', data: '{oops' },
      ],
    });
  });
});

const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }));

const outbound: fc.Arbitrary<StreamingOutbound> = fc.oneof(
  anyText.filter((text) => text !== '').map((value) => ({ kind: 'text' as const, value })),
  fc.jsonValue().map((value) => ({ kind: 'json' as const, value })),
  fc.nat().map((value) => ({ kind: 'heartbeat' as const, value })),
  fc.stringMatching(/^[0-9A-Za-z]{16}$/).map((value) => ({ kind: 'handshake' as const, value })),
);

/** What the session-layer decoder yields for one encoded message. */
function expectedMessage(message: StreamingOutbound): unknown {
  switch (message.kind) {
    case 'text':
      return { type: 'text', data: message.value };
    case 'json':
      return { type: 'json', data: JSON.parse(JSON.stringify(message.value)) as unknown };
    case 'heartbeat':
      return { type: 'heartbeat', data: String(message.value) };
    case 'handshake':
      return { type: 'handshake', data: message.value };
    case 'disconnect':
      return { type: 'disconnect', data: '' };
  }
}

/** Cuts `text` at the given positions (sorted, deduplicated, inside the string). */
function split(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(text.slice(from, point));
    from = point;
  }
  chunks.push(text.slice(from));
  return chunks;
}

describe('sio-streaming codec: properties', () => {
  it('decode(encode(x)) = x for text (astral characters included) and JSON values', () => {
    fc.assert(
      fc.property(outbound, (message) => {
        const decoder = streamingCodec.createDecoder({ maxFrameLength: Infinity });
        expect(decoder.push(encodeStreaming(message))).toEqual({ ok: true, value: [expectedMessage(message)] });
      }),
    );
  });

  it('every split of an encoded stream decodes to the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(outbound, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (messages, cuts) => {
          const stream = messages.map(encodeStreaming).join('');
          const decoder = streamingCodec.createDecoder({ maxFrameLength: Infinity });
          const decoded: unknown[] = [];
          for (const chunk of split(stream, cuts)) {
            const result = decoder.push(chunk);
            expect(result.ok).toBe(true);
            if (result.ok) decoded.push(...result.value);
          }
          expect(decoded).toEqual(messages.map(expectedMessage));
        },
      ),
    );
  });

  it('every single split point of a fixed stream with astral characters decodes the same', () => {
    const stream = ['1:2::😀,', '1:12:j\n:{"a":"日"},', '2:2:12,', '1:11::héllo 日本 😀,'].join('');
    const whole = new StreamingDecoder().push(stream);
    expect(whole.ok && whole.value.length).toBe(4);
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new StreamingDecoder();
      const first = decoder.push(stream.slice(0, cut));
      const second = decoder.push(stream.slice(cut));
      expect(first.ok && second.ok).toBe(true);
      if (first.ok && second.ok && whole.ok) expect([...first.value, ...second.value]).toEqual(whole.value);
    }
  });

  it('LENGTH counts code points: an astral character is 1', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), (text) => {
        expect(encodeStreaming({ kind: 'text', value: text })).toBe(`1:${codePointLength(text) + 1}::${text},`);
      }),
    );
  });
});
