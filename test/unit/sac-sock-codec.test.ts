// § numbers in this file refer to docs/protocol/sac-sock.md.
import { describe, expect, it } from 'vitest';
import { encodeClientFrame, encodeServerFrame, parseClientFrame } from '../../src/codecs/sac-sock.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('sac-sock codec: server → client (§2.1, §2.5)', () => {
  it.each([
    ['echo', 'hello', '65 63 68 6f 01 53 02 68 65 6c 6c 6f', false],
    ['obj', { a: 1 }, '6f 62 6a 01 4a 02 7b 22 61 22 3a 31 7d', false],
    ['n', 5, '6e 01 4a 02 35', false],
    ['x', null, '78 01 4a 02 6e 75 6c 6c', false],
    ['x', undefined, '78 01 4a 02 6e 75 6c 6c', false],
    ['bin', Buffer.from([0xde, 0xad]), '62 69 6e 01 42 02 de ad', true],
    ['bin', new Uint8Array([0xde, 0xad]).buffer, '62 69 6e 01 42 02 de ad', true],
  ])('emit(%j, %j) is %s', (event, value, bytes, isBinary) => {
    const result = encodeServerFrame(event, value);
    expect(result).toEqual({ ok: true, value: { data: hex(bytes), isBinary } });
  });

  it('sends a string with its UTF-8 bytes and keeps control bytes in the data', () => {
    const result = encodeServerFrame('e', 'é\x01\x02😀');
    expect(result.ok && result.value.data).toEqual(Buffer.concat([hex('65 01 53 02'), Buffer.from('é\x01\x02😀')]));
  });

  it('encodes only the viewed bytes of a Uint8Array view', () => {
    const view = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
    const result = encodeServerFrame('b', view);
    expect(result.ok && result.value.data).toEqual(hex('62 01 42 02 02 03'));
  });

  it.each([
    ['', 'x', /empty/],
    ['a\x02b', 'x', /0x01 or 0x02/],
    ['a\x01b', 'x', /0x01 or 0x02/],
    ['é', Buffer.from([1]), /ASCII/],
  ])('refuses the event name %j', (event, value, message) => {
    const result = encodeServerFrame(event, value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('ERR_INVALID_MESSAGE');
      expect(result.error.message).toMatch(message);
    }
  });

  it('allows a non-ASCII event name on text frames', () => {
    const result = encodeServerFrame('é', 'x');
    expect(result.ok && result.value.data).toEqual(Buffer.from('é\x01S\x02x'));
  });

  it('refuses a value without JSON form instead of sending an empty J', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const result = encodeServerFrame('e', circular);
    expect(result.ok).toBe(false);
    expect(encodeServerFrame('e', 10n).ok).toBe(false);
  });
});

describe('sac-sock codec: client → server (§2.2, §2.3, §2.5)', () => {
  it.each([
    ['echo', 'hello', '65 63 68 6f 02 68 65 6c 6c 6f', false],
    ['join', { room: 'a' }, '6a 6f 69 6e 02 7b 22 72 6f 6f 6d 22 3a 22 61 22 7d', false],
    ['ev', new Uint8Array([7, 8]).buffer, '65 76 02 07 08', true],
    ['ev', undefined, '65 76 02 75 6e 64 65 66 69 6e 65 64', false],
    ['é', new Uint8Array([1, 2]).buffer, 'e9 02 01 02', true],
  ])('the client emit(%j, %j) is %s', (event, data, bytes, isBinary) => {
    expect(encodeClientFrame(event, data)).toEqual({ data: hex(bytes), isBinary });
  });

  it.each([
    ['65 63 68 6f 02 68 65 6c 6c 6f', false, 'echo', '68 65 6c 6c 6f'],
    ['65 76 02 07 08', true, 'ev', '07 08'],
    ['e9 02 01 02', true, 'é', '01 02'],
    // Split at the FIRST 0x02; later separators stay in the payload.
    ['65 02 61 02 62 01 63', false, 'e', '61 02 62 01 63'],
    // A 0x01 in the name is part of the name (the real client never sends one).
    ['61 01 62 02 63', false, 'a\x01b', '63'],
    // An empty payload is still a frame.
    ['65 02', false, 'e', ''],
    ['c3 a9 02 78', false, 'é', '78'],
  ])('parses %s (binary %s) as %j', (bytes, isBinary, event, payload) => {
    expect(parseClientFrame(hex(bytes), isBinary)).toEqual({ event, payload: hex(payload) });
  });

  it.each([
    ['', 'empty'],
    ['65 63 68 6f', 'no separator'],
    ['02 68 69', 'empty name'],
    ['02', 'separator only'],
  ])('drops %j (%s)', (bytes) => {
    expect(parseClientFrame(hex(bytes), false)).toBeNull();
    expect(parseClientFrame(hex(bytes), true)).toBeNull();
  });
});
