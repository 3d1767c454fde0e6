/**
 * ws's WebSocket with a slot for the transport that owns it (the 0.6 resource's
 * WebSocketServer makes these). Its listeners are then two shared functions that find their
 * transport through `this`, rather than two closures on every idle session.
 */
import { WebSocket, type RawData } from 'ws';

/** What the shared listeners call on the socket's transport. */
export interface SocketOwner {
  onMessage(data: RawData, isBinary: boolean): void;
  detached(): void;
}

export class SessionWebSocket extends WebSocket {
  owner: SocketOwner | null = null;
}
