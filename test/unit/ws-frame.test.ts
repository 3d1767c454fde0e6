import { describe, expect, it } from 'vitest';
import { dataFrame } from '../../src/wire/ws-frame.js';

// RFC 6455 §5.2 headers of unmasked, final frames: 7-bit, 16-bit and 64-bit lengths at their edges.
const HEADERS: Array<[length: number, header: string]> = [
  [0, '00'],
  [1, '01'],
  [125, '7d'],
  [126, '7e007e'],
  [127, '7e007f'],
  [65_535, '7effff'],
  [65_536, '7f0000000000010000'],
  [70_000, '7f0000000000011170'],
];

describe('dataFrame', () => {
  it.each(HEADERS)('frames %i bytes of text with FIN, opcode 1 and the right length', (length, header) => {
    const text = 'é'.repeat(Math.floor(length / 2)) + 'a'.repeat(length % 2);
    const frame = dataFrame(text);
    expect(frame.subarray(0, 1 + header.length / 2).toString('hex')).toBe('81' + header);
    expect(frame.subarray(1 + header.length / 2).toString('utf8')).toBe(text);
  });

  it.each(HEADERS)('frames %i bytes of binary with FIN, opcode 2 and the right length', (length, header) => {
    const bytes = Buffer.alloc(length, 0xa5);
    if (length > 0) bytes[length - 1] = 0x02;
    const frame = dataFrame(bytes, true);
    expect(frame.subarray(0, 1 + header.length / 2).toString('hex')).toBe('82' + header);
    expect(frame.subarray(1 + header.length / 2).equals(bytes)).toBe(true);
  });
});
