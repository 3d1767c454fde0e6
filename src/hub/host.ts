/**
 * What every family gets from the server that mounts it: the room model, the event
 * handlers, the log, the instrumentation seam, the connection budget and the error channel.
 * One interface for the 0.6 resource, the sac-sock endpoint and every plain endpoint; each
 * family adds only its own options.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { RealtimeError } from '../errors.js';
import type { EventHub } from './events.js';
import type { Instruments } from './instruments.js';
import type { Release } from './results.js';
import type { Rooms } from './rooms.js';

export interface Host {
  readonly rooms: Rooms;
  readonly events: EventHub;
  readonly instruments: Instruments;
  /** The server's logger once it is mounted (undefined before, and when logging is off). */
  log(): Logger | undefined;
  isShuttingDown(): boolean;
  /** Reports a failure (the server's `error` event); never throws. */
  reportError(error: unknown): void;
  /** The client's address: the peer's, or what a trusted proxy forwarded (`trustProxy`). */
  clientAddress(req: IncomingMessage): string;
  /** Whether the client reached us over TLS (ours, or a trusted proxy's). */
  isSecure(req: IncomingMessage): boolean;
  /** `allowedHosts`: whether a Host header names this server. */
  isHostAllowed(host: string | undefined): boolean;
  /** `maxHandshakesPerSecondPerAddress`: whether a new session from `address` may start now. */
  allowHandshake(address: string): boolean;
  /** Counts one connection in the server's one budget, or refuses it. */
  reserve(remoteAddress: string): RealtimeError | Release;
}
