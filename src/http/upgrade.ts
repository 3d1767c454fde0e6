/**
 * Answers to upgrade requests that will not become websockets, written straight to the
 * socket (there is no ServerResponse before an upgrade).
 */
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { RealtimeError } from '../errors.js';

export function rejectUpgrade(socket: Duplex, error: RealtimeError, headers: OutgoingHttpHeaders = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(error.toJSON());
  const lines = [
    `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}`),
  ];
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
}

/**
 * What every websocket handshake needs, the drafts (hixie-75/76, no key and no version)
 * included: a GET asking for the websocket upgrade. Null when it has both.
 */
export function validateDraftUpgrade(req: IncomingMessage): RealtimeError | null {
  if (req.method !== 'GET') {
    return new RealtimeError('ERR_METHOD_NOT_ALLOWED', 'a websocket handshake is a GET');
  }
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
    return new RealtimeError('ERR_BAD_REQUEST', 'only the websocket upgrade is offered');
  }
  return null;
}

/** RFC 6455 §4.2.1: a 16-byte nonce in base64. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * The checks `ws` makes before a handshake, done first so a refusal gets the same JSON
 * answer as every other (ws would answer in plain text). Null when the upgrade may go on.
 */
export function validateUpgrade(req: IncomingMessage): RealtimeError | null {
  const invalid = validateDraftUpgrade(req);
  if (invalid !== null) return invalid;
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !WEBSOCKET_KEY.test(key)) {
    return new RealtimeError('ERR_BAD_REQUEST', 'missing or malformed Sec-WebSocket-Key');
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    return new RealtimeError('ERR_BAD_REQUEST', 'unsupported Sec-WebSocket-Version (13 or 8)');
  }
  return null;
}

/**
 * The 'error' listener of a socket being upgraded (module-level: no closure per
 * connection). Once ws has taken the socket, ws's own listener is enough; removing this one
 * spares each idle websocket a listener array.
 */
export function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** ws has taken `socket` over, its errors included. */
export function handOverErrors(socket: Duplex): void {
  socket.removeListener('error', destroyOnError);
}
