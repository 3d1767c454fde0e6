/**
 * A websocket client at the TCP level: sends the RFC 6455 handshake by hand and then does
 * with the socket whatever a fault test needs (stop reading, vanish). `read` collects the
 * bytes received so far.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { rawConnect } from './raw-http.js';
import { waitFor } from './wait-for.js';

export interface RawWsClient {
  readonly socket: Socket;
  /** Everything received, handshake answer included. */
  received(): Buffer;
}

/** Opens a websocket at `path` and waits for the 101 (and `minBytes` more of the stream). */
export async function rawWebSocket(port: number, path: string, minBytes = 0): Promise<RawWsClient> {
  const socket = await rawConnect(port);
  const chunks: Buffer[] = [];
  let size = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  socket.on('error', () => undefined);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const received = () => Buffer.concat(chunks, size);
  await waitFor(
    () => {
      const all = received();
      const end = all.indexOf('\r\n\r\n');
      return end !== -1 && all.length >= end + 4 + minBytes;
    },
    { what: 'the 101 answer' },
  );
  if (!received().toString('latin1').startsWith('HTTP/1.1 101')) {
    throw new Error(`no upgrade: ${received().toString('latin1').slice(0, 100)}`);
  }
  return { socket, received };
}
