/**
 * Typed errors and constants of plain websocket connections (seehuhn's `ErrMessageType`,
 * `ErrTooLarge`, `ErrStatusCode`, status and message-type constants). Each error is a
 * `RealtimeError`, so `code` works as everywhere else; the subclasses allow `instanceof`.
 */
import { RealtimeError } from '../errors.js';

/** The message was not of the type asked for (`receiveText` got binary, or the reverse). */
export class MessageTypeError extends RealtimeError {
  constructor(
    readonly expected: MessageType,
    readonly actual: MessageType,
  ) {
    super('ERR_INVALID_MESSAGE', `expected a ${expected} message, got ${actual}`);
    Object.defineProperty(this, 'name', { value: 'MessageTypeError' });
  }
}

/**
 * A message over the caller's limit, or a close reason over 123 bytes. `partial` holds what
 * fitted (text cut at a code-point boundary), `size` the full size in bytes.
 */
export class TooLargeError extends RealtimeError {
  constructor(
    message: string,
    readonly limit: number,
    readonly size: number,
    readonly partial?: string | number,
  ) {
    super('ERR_TOO_LARGE', message);
    Object.defineProperty(this, 'name', { value: 'TooLargeError' });
  }
}

/** A close code the server may not send. Nothing was sent. */
export class StatusCodeError extends RealtimeError {
  constructor(readonly status: number) {
    super('ERR_STATUS_CODE', `close code ${status} may not be sent (1000–1003, 1005, 1007–1011, 3000–4999)`);
    Object.defineProperty(this, 'name', { value: 'StatusCodeError' });
  }
}

/** RFC 6455 status codes (seehuhn's `Status*` constants). */
export const Status = {
  OK: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedType: 1003,
  /** No status in the close frame (or an invalid one); never sent with a body. */
  NotSent: 1005,
  /** The connection ended without a close frame; never on the wire. */
  Dropped: 1006,
  InvalidData: 1007,
  PolicyViolation: 1008,
  TooLarge: 1009,
  MandatoryExtension: 1010,
  InternalServerError: 1011,
} as const;

export type MessageType = 'text' | 'binary';

const OPCODE_NAMES: Record<number, string> = {
  0: 'continuation',
  1: 'text',
  2: 'binary',
  8: 'close',
  9: 'ping',
  10: 'pong',
};

/** seehuhn's `MessageType.String()`: the name of an opcode, or `MessageType(n)`. */
export function messageTypeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `MessageType(${opcode})`;
}

/** Whether the server may send `code` in a close frame (1005 means "no body"). */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) ||
      code === 1005 ||
      (code >= 1007 && code <= 1011) ||
      (code >= 3000 && code <= 4999))
  );
}

/** Largest close reason in UTF-8 bytes (125-byte control payload minus the 2-byte code). */
export const MAX_CLOSE_REASON_BYTES = 123;
