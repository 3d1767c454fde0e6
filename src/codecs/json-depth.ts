/**
 * A bound on how deeply JSON text nests, checked before anything walks it. `JSON.parse`
 * copes with deep input, but whatever measures or re-encodes the value afterwards
 * (`JSON.stringify`, a handler's own recursion) runs out of call stack at a few thousand
 * levels, so a 10 KB message of brackets could otherwise end the process.
 */
import { RealtimeError } from '../errors.js';

/** The default of `maxJsonDepth`: far beyond any real message, far below the call stack. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether `text` nests arrays and objects deeper than `maxDepth`. Brackets inside strings do
 * not count. Malformed text is not judged here (the parser does that); 0 means no bound.
 */
export function exceedsJsonDepth(text: string, maxDepth: number): boolean {
  // Depth d takes d opening brackets: text this short cannot exceed the bound.
  if (maxDepth === 0 || text.length <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/**
 * `exceedsJsonDepth` for UTF-8 bytes. Brackets, quotes and backslashes are ASCII and never
 * part of a multi-byte sequence, so reading the bytes one per character (latin1) is exact.
 */
export function bytesExceedJsonDepth(bytes: Buffer, maxDepth: number): boolean {
  if (maxDepth === 0 || bytes.length <= maxDepth) return false;
  return exceedsJsonDepth(bytes.toString('latin1'), maxDepth);
}

/** The refusal of JSON nested deeper than `maxJsonDepth`, the same on every family. */
export function tooDeep(maxJsonDepth: number): RealtimeError {
  return new RealtimeError('ERR_JSON_TOO_DEEP', `a JSON message nests deeper than maxJsonDepth (${maxJsonDepth})`);
}
