/**
 * ws's WebSocket with a slot for the plain connection that owns it (the endpoint's
 * WebSocketServer makes these). Its listeners are then shared functions that find their
 * connection through `this`, rather than closures on every idle connection.
 */
import { WebSocket, type RawData } from 'ws';

/** What the shared listeners call on the socket's connection. */
export interface SocketOwner {
  onWireMessage(data: Buffer | Buffer[], isBinary: boolean): void;
  onWireError(error: Error & { code?: string }): void;
  onWireClose(code: number, reason: Buffer): void;
}

export class EndpointSocket extends WebSocket {
  owner: SocketOwner | null = null;
}

/** Hands `ws`'s events to `owner`, through listeners shared by every socket. */
export function listen(ws: EndpointSocket, owner: SocketOwner): void {
  ws.owner = owner;
  // With binaryType 'fragments', ws hands binary messages over as the payloads of their
  // frames; text messages always come as one Buffer (ws validates UTF-8 over the whole).
  ws.binaryType = 'fragments';
  ws.on('message', onMessage);
  ws.on('error', onError);
  // 'close' fires once: `on` spares the `once` wrapper each idle connection would keep.
  ws.on('close', onClose);
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as EndpointSocket).owner?.onWireMessage(data as Buffer | Buffer[], isBinary);
}

function onError(this: WebSocket, error: Error): void {
  (this as EndpointSocket).owner?.onWireError(error);
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const socket = this as EndpointSocket;
  const owner = socket.owner;
  socket.owner = null;
  owner?.onWireClose(code, reason);
}
