/**
 * Answers to upgrade requests that will not become websockets, written straight to the
 * socket (there is no ServerResponse before an upgrade).
 */
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RealtimeError } from './errors.js';

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
