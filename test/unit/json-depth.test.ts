import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesExceedJsonDepth, exceedsJsonDepth } from '../../src/codecs/json-depth.js';
import { decodeEnvelope } from '../../src/adapters/redis/envelope.js';

/** The real depth of a parsed value, walked iteratively. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

describe('exceedsJsonDepth', () => {
  it('counts arrays and objects, not brackets inside strings or after escapes', () => {
    expect(exceedsJsonDepth('[[[]]]', 3)).toBe(false);
    expect(exceedsJsonDepth('[[[[]]]]', 3)).toBe(true);
    expect(exceedsJsonDepth('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(exceedsJsonDepth('{"a":{"b":[[1]]}}', 3)).toBe(true);
    expect(exceedsJsonDepth('["[[[[[[", "\\"[[[[[["]', 1)).toBe(false);
    expect(exceedsJsonDepth('["\\\\", [[]]]', 2)).toBe(true);
  });

  it('0 means no bound', () => {
    expect(exceedsJsonDepth('['.repeat(10_000), 0)).toBe(false);
  });

  it('agrees with the parsed depth on any JSON value, for text and bytes alike', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 1, max: 12 }), (value, bound) => {
        const text = JSON.stringify(value);
        const expected = depthOf(value) > bound;
        expect(exceedsJsonDepth(text, bound)).toBe(expected);
        expect(bytesExceedJsonDepth(Buffer.from(text, 'utf8'), bound)).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('Redis envelopes', () => {
  const envelope = (payload: string) =>
    JSON.stringify({ d: 3, e: 'x', r: '', p: Buffer.from(payload).toString('base64'), s: 'other' });

  it('drops a forwarded JSON value deeper than maxJsonDepth', () => {
    const decoded = decodeEnvelope(envelope('['.repeat(5000) + ']'.repeat(5000)), 'broadcasts');
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe('ERR_JSON_TOO_DEEP');
    expect(decodeEnvelope(envelope('[[1]]'), 'broadcasts').ok).toBe(true);
  });

  it('drops an envelope that itself nests deeply', () => {
    const decoded = decodeEnvelope(`{"d":3,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`, 'broadcasts');
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe('ERR_JSON_TOO_DEEP');
  });
});
