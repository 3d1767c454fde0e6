/**
 * The rules around a plain connection's end: which close a caller may send (seehuhn's
 * `Close`), what `ws`'s errors mean, and how an ended connection is labelled for the
 * instruments. Pure functions; the connection runs the closing handshake.
 */
import { RealtimeError, type ErrorCode } from '../errors.js';
import type { DisconnectReason } from '../hub/results.js';
import { isSendableCloseCode, MAX_CLOSE_REASON_BYTES, StatusCodeError, TooLargeError } from './errors.js';
import { codePointBoundary } from './receive.js';

/**
 * Throws unless `close(code, reason)` may be sent: the code must be 1000–1003, 1005 (a close
 * frame without a body), 1007–1011 or 3000–4999 (`StatusCodeError`), the reason at most 123
 * UTF-8 bytes (`TooLargeError`).
 */
export function checkClose(code: number, reason: string): void {
  if (!isSendableCloseCode(code)) throw new StatusCodeError(code);
  const bytes = Buffer.byteLength(reason);
  if (bytes > MAX_CLOSE_REASON_BYTES) {
    throw new TooLargeError(
      `a close reason of ${bytes} bytes exceeds ${MAX_CLOSE_REASON_BYTES}`,
      MAX_CLOSE_REASON_BYTES,
      bytes,
    );
  }
}

/** Internal close reasons are error codes; cap them at 123 bytes all the same. */
export function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  const bytes = Buffer.from(reason);
  return bytes.subarray(0, codePointBoundary(bytes, MAX_CLOSE_REASON_BYTES)).toString('utf8');
}

/**
 * What an error `ws` reports on a connection means. ws has already sent the matching close
 * frame (1002, 1007 or 1009) and will emit 'close'. `isInvalidCloseCode`: the peer's close
 * frame carried a code it may not send, which seehuhn reports as 1005.
 */
export function errorOfWs(
  error: Error & { code?: string },
  maxMessageBytes: number,
): { error: RealtimeError; isInvalidCloseCode: boolean } {
  const of = (code: ErrorCode, message: string) => new RealtimeError(code, message, { cause: error });
  switch (error.code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return {
        error: of('ERR_TOO_LARGE', `a message exceeds maxMessageBytes (${maxMessageBytes})`),
        isInvalidCloseCode: false,
      };
    case 'WS_ERR_INVALID_UTF8':
      return { error: of('ERR_INVALID_UTF8', 'a text message is not valid UTF-8'), isInvalidCloseCode: false };
    default:
      return {
        error: of('ERR_PROTOCOL_VIOLATION', `protocol violation: ${error.message}`),
        isInvalidCloseCode: error.code === 'WS_ERR_INVALID_CLOSE_CODE',
      };
  }
}

/** Why a connection ended, as the instruments label it (a few values, never an id). */
export function disconnectReason(
  error: RealtimeError | undefined,
  isCloseRequested: boolean,
  code: number,
): DisconnectReason | string {
  if (error === undefined) {
    if (!isCloseRequested) return 'client';
    return code === 1001 ? 'shutdown' : 'server';
  }
  switch (error.code) {
    case 'ERR_HEARTBEAT_TIMEOUT':
      return 'heartbeat-timeout';
    case 'ERR_QUEUE_OVERFLOW':
      return 'queue-overflow';
    case 'ERR_CONNECTION_DROPPED':
      return 'dropped';
    case 'ERR_WRITE_TIMEOUT':
      return 'write-timeout';
    case 'ERR_HANDLER_FAILED':
      return 'server';
    default:
      return 'protocol-error';
  }
}
