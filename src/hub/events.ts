/**
 * Events for every protocol: one handler per event name (sacrificial-socket's `On`), fed the raw
 * payload bytes as the sac-sock client sends them (docs/protocol/sac-sock.md §2.2), plus connect
 * and disconnect listeners that hear of every socket, whatever it speaks.
 *
 * 0.6 clients have no events on the wire. Their convention is a JSON message
 * `{"event": name, "data": value}`: when a handler is registered for `name`, the handler
 * gets `data` encoded as the sac-sock client would have sent it (a string as its UTF-8
 * bytes, an object or null as JSON text, a number or boolean as its text, no `data` as
 * `undefined`); any other message is a plain message, delivered as before.
 */
import type { DisconnectInfo } from '../hub/results.js';
import type { Socket } from './rooms.js';

/**
 * Handles one event; `data` is the payload bytes, untouched. It may return anything: a
 * promise is awaited for its rejection (reported as an `error` event), any other value ignored,
 * so an expression-bodied arrow (`(s, d) => server.roomcast(…)`) fits.
 */
export type EventHandler<S extends Socket = Socket> = (socket: S, data: Buffer) => unknown;
export type SocketListener<S extends Socket = Socket> = (socket: S) => unknown;
export type SocketDisconnectListener<S extends Socket = Socket> = (socket: S, info: DisconnectInfo) => unknown;

export class EventHub {
  private readonly handlers = new Map<string, EventHandler>();
  private readonly connectListeners: SocketListener[] = [];
  private readonly disconnectListeners: SocketDisconnectListener[] = [];

  /** `onError` hears of every throw or rejection of application code. */
  constructor(private readonly onError: (error: unknown, socket: Socket) => void) {}

  /** Sets the handler of `event`, replacing any earlier one (as sacrificial-socket does). */
  on(event: string, handler: EventHandler): void {
    this.handlers.set(event, handler);
  }

  off(event: string): void {
    this.handlers.delete(event);
  }

  has(event: string): boolean {
    return this.handlers.has(event);
  }

  /** Whether anyone listens for sockets coming and going (so a socket view is worth making). */
  get hasSocketListeners(): boolean {
    return this.connectListeners.length > 0 || this.disconnectListeners.length > 0;
  }

  /** Whether `message` follows the 0.6 event convention for an event that has a handler. */
  isHandledEnvelope(message: unknown): boolean {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
    const event = (message as { event?: unknown }).event;
    return typeof event === 'string' && this.handlers.has(event);
  }

  onConnect(listener: SocketListener): void {
    this.connectListeners.push(listener);
  }

  onDisconnect(listener: SocketDisconnectListener): void {
    this.disconnectListeners.push(listener);
  }

  /** Runs the handler of `event`; false (and nothing run) when there is none. */
  dispatch(socket: Socket, event: string, data: Buffer): boolean {
    const handler = this.handlers.get(event);
    if (handler === undefined) return false;
    this.run(socket, () => handler(socket, data));
    return true;
  }

  /** Runs the 0.6 convention: true when `message` was an event with a handler. */
  dispatchEnvelope(socket: Socket, message: unknown): boolean {
    if (!this.isHandledEnvelope(message)) return false;
    const { event, data } = message as { event: string; data?: unknown };
    return this.dispatch(socket, event, payloadBytes(data));
  }

  connected(socket: Socket): void {
    for (const listener of this.connectListeners) this.run(socket, () => listener(socket));
  }

  disconnected(socket: Socket, info: DisconnectInfo): void {
    for (const listener of this.disconnectListeners) this.run(socket, () => listener(socket, info));
  }

  private run(socket: Socket, call: () => unknown): void {
    try {
      const result = call();
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.onError(error, socket));
    } catch (error) {
      this.onError(error, socket);
    }
  }
}

/**
 * `data` as the sac-sock client's `emit` would put it on the wire (docs/protocol/sac-sock.md §2.2).
 */
export function payloadBytes(data: unknown): Buffer {
  if (typeof data === 'object') return Buffer.from(JSON.stringify(data) ?? 'null', 'utf8');
  return Buffer.from(String(data), 'utf8');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
