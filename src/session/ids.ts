import { customAlphabet } from 'nanoid';

/** The alphabet of 0.6 session ids: safe in URL paths, no `/`, `?` or `#`. */
export const SESSION_ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const SESSION_ID_LENGTH = 16;
export const SESSION_ID_PATTERN = /^[0-9A-Za-z]{16}$/;

/** 16 characters from a 62-letter alphabet: about 95 bits from the CSPRNG. */
export const newSessionId: () => string = customAlphabet(SESSION_ID_ALPHABET, SESSION_ID_LENGTH);

/** The first characters only, for logs at info level (the full id is a bearer credential). */
export function redactSessionId(sessionId: string): string {
  return sessionId.slice(0, 4) + '…';
}
