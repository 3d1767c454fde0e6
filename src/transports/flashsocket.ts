/**
 * flashsocket (docs/protocol/socketio-0.6.md §4.2): the websocket transport under another name, for
 * browsers without a native WebSocket that run Flash's web-socket-js. Flash speaks hixie-76
 * (handled by the upgrade path with websocket-driver); an RFC 6455 client reaches the same handler
 * here. Before connecting, Flash fetches a socket policy: see src/flash-policy.ts.
 */
import type { Duplex } from 'node:stream';
import type { SessionPort } from '../session/transport.js';
import type { UpgradeTransportModule } from './module.js';
import type { SessionWebSocket } from './session-websocket.js';
import { WebSocketTransport } from './websocket.js';

export const flashsocket: UpgradeTransportModule = {
  name: 'flashsocket',
  kind: 'upgrade',
  accept(ws: SessionWebSocket, socket: Duplex, conn: SessionPort, highWaterMarkBytes: number): void {
    conn.attach(new WebSocketTransport('flashsocket', ws, socket, conn, highWaterMarkBytes));
  },
};
