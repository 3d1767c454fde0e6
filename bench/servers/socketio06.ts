/**
 * The original Socket.IO 0.6.18 server (npm alias `socket.io-legacy`), on Node 20.
 *
 * It was written for Node 0.2–0.4 and needs three shims, kept here so nothing else in the
 * project sees them:
 *   - `process.EventEmitter` (removed from Node long ago): every 0.6 class inherits from it;
 *   - `socket.setEncoding` on an upgraded socket: Node's HTTP server replaces it with a
 *     function that throws (RFC 7230 §3), and the 0.6 websocket transport calls it; the
 *     plain `net.Socket` method is put back before 0.6's upgrade listener runs;
 *   - its log function defaults to `util.log` (deprecated, noisy): replaced by a no-op.
 * `process.binding('natives')`, `url.parse` and `require('sys'/'util')` still work on Node 20
 * (with deprecation warnings, silenced below).
 *
 * Its websocket transport speaks only the hixie-75/76 drafts (0x00 … 0xFF framing), not RFC
 * 6455; the load generator has a hixie-75 client for it (bench/load/hixie.ts).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

(process as unknown as { EventEmitter: typeof EventEmitter }).EventEmitter = EventEmitter;
process.noDeprecation = true;

interface LegacyClient {
  sessionId: string;
  send(message: unknown): void;
  on(event: 'message', listener: (data: unknown) => void): void;
  on(event: 'disconnect', listener: () => void): void;
}
interface LegacyListener {
  clients: Record<string, LegacyClient>;
  broadcast(message: unknown): void;
  on(event: 'connection', listener: (client: LegacyClient) => void): void;
}

const require = createRequire(import.meta.url);
const io = require('socket.io-legacy') as { listen(server: unknown, options: object): LegacyListener };

const http = createServer();
// No Flash policy listener on port 843: the bench measures HTTP and websocket, and another
// process on the machine may hold that port.
const listener = io.listen(http, { log: () => undefined, flashPolicyServer: false });
http.prependListener('upgrade', (_req, socket: Socket) => {
  socket.setEncoding = Socket.prototype.setEncoding;
});
const room = new Set<LegacyClient>();

listener.on('connection', (client) => {
  client.on('message', (data) => {
    const trigger = typeof data === 'string' ? parseTrigger(data) : null;
    if (trigger === null) return client.send(data);
    if (trigger.kind === 'join') {
      room.add(client);
      return client.send(JOINED);
    }
    const payload = payloadOf(trigger.size);
    for (let i = 0; i < trigger.count; i++) {
      if (trigger.kind === 'bcast') listener.broadcast(payload);
      else for (const member of room) member.send(payload);
    }
  });
  client.on('disconnect', () => room.delete(client));
});
http.listen(0, HOST, () => reportReady((http.address() as AddressInfo).port));
