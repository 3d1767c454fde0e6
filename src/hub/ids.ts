import { customAlphabet, nanoid } from 'nanoid';

/** The alphabet of 0.6 session ids: safe in URL paths, no `/`, `?` or `#`. */
export const SESSION_ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const SESSION_ID_LENGTH = 16;
export const SESSION_ID_PATTERN = /^[0-9A-Za-z]{16}$/;

const sessionIdOfAlphabet = customAlphabet(SESSION_ID_ALPHABET, SESSION_ID_LENGTH);

/** 16 characters from a 62-letter alphabet: about 95 bits from the CSPRNG. */
export function newSessionId(): string {
  return flat(sessionIdOfAlphabet());
}

/** `length` characters of nanoid's URL-safe alphabet (sac-sock socket ids). */
export function newSocketId(length: number): string {
  return flat(nanoid(length));
}

/**
 * nanoid builds an id one character at a time, which V8 keeps as a chain of rope nodes
 * (about 130 bytes for 16 characters, more for 32) for as long as the id lives: on every
 * idle connection. A copy through latin1 (ids are ASCII) is one flat string.
 */
function flat(id: string): string {
  return Buffer.from(id, 'latin1').toString('latin1');
}

/** The first characters only, for logs at info level (the full id is a bearer credential). */
export function redactSessionId(sessionId: string): string {
  return sessionId.slice(0, 4) + '…';
}
