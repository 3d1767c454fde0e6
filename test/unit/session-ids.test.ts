/** Session ids are bearer credentials: unguessable, well-formed, and redacted in logs. */
import { describe, expect, it } from 'vitest';
import { newSessionId, redactSessionId, SESSION_ID_ALPHABET, SESSION_ID_PATTERN } from '../../src/hub/ids.js';

describe('session ids', () => {
  it('are 16 characters of the URL-safe alphabet, never repeated, spread over the whole alphabet', () => {
    const ids = Array.from({ length: 20_000 }, newSessionId);
    expect(ids.every((id) => SESSION_ID_PATTERN.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // 320 000 characters: each of the 62 letters is expected ~5 160 times; a biased source is far off.
    const counts = new Map<string, number>();
    for (const id of ids) for (const char of id) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(SESSION_ID_ALPHABET.length);
    for (const count of counts.values()) expect(Math.abs(count - 320_000 / 62)).toBeLessThan(600);
  });

  it('are redacted to four characters for logs', () => {
    const id = newSessionId();
    expect(redactSessionId(id)).toBe(id.slice(0, 4) + '…');
    expect(redactSessionId(id)).not.toContain(id.slice(4));
  });
});
