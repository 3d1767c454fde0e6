/**
 * The part of websocket-driver (0.7) that the hixie-75/76 path uses. The package ships no
 * types and none are published; this declares only what src/transports/hixie.ts calls.
 */
declare module 'websocket-driver' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage } from 'node:http';

  export interface DriverOptions {
    /** Largest message accepted, in bytes; a longer one closes the driver. */
    maxLength?: number;
    protocols?: string | string[];
    requireMasking?: boolean;
  }

  export interface MessageEvent {
    readonly data: string | Buffer;
  }

  export interface Driver extends EventEmitter {
    /** 'hixie-75', 'hixie-76' or 'hybi-<n>'. */
    readonly version: string;
    /** 0 connecting, 1 open, 2 closing, 3 closed. */
    readonly readyState: number;
    /** The wire side: what the driver emits as 'data' goes to the socket. */
    readonly io: NodeJS.ReadWriteStream;
    /** Feeds bytes read from the socket. */
    parse(chunk: Buffer): void;
    /** Writes the handshake response; false when the request was not a valid handshake. */
    start(): boolean;
    text(message: string): boolean;
    close(reason?: string, code?: number): boolean;
    /** Adds a header to the handshake response (before it is written); `Set-Cookie` may repeat. */
    setHeader(name: string, value: string): boolean;
    on(event: 'open', listener: () => void): this;
    on(event: 'message', listener: (event: MessageEvent) => void): this;
    on(event: 'close', listener: () => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }

  /** Picks hybi, hixie-76 or hixie-75 from the request headers. */
  export function http(request: IncomingMessage, options?: DriverOptions): Driver;
  export function isWebSocket(request: IncomingMessage): boolean;

  const driver: { http: typeof http; isWebSocket: typeof isWebSocket };
  export default driver;
}
