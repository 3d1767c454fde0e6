import { readFileSync } from 'node:fs';

/**
 * One entry of `test/fixtures/sio-codec-vectors.json` (see docs/protocol/socketio-0.6.md,
 * Appendix A).
 */
export interface CodecVector {
  readonly id: string;
  readonly codec: 'sio' | 'sio-streaming';
  readonly direction: 'encode' | 'decode';
  readonly input: unknown;
  readonly output: unknown;
  readonly note: string;
}

export function loadVectors(): CodecVector[] {
  const url = new URL('../fixtures/sio-codec-vectors.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as CodecVector[];
}
