/**
 * The one Host every family of a server gets: its rooms and events, the budget, and the
 * request checks that depend on server options (trusted proxies, allowed hosts, the
 * handshake rate). Made once per server by the facade.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ConnectionBudget } from '../http/budget.js';
import { ClientAddresses } from '../http/client-address.js';
import { isOriginAllowed, parseOrigins } from '../http/origins.js';
import { KeyedRateLimit } from '../http/rate-limit.js';
import type { EventHub } from '../hub/events.js';
import type { Host } from '../hub/host.js';
import type { Instruments } from '../hub/instruments.js';
import type { Rooms } from '../hub/rooms.js';

export interface HostParts {
  readonly rooms: Rooms;
  readonly events: EventHub;
  readonly instruments: Instruments;
  readonly budget: ConnectionBudget;
  readonly log: () => FastifyBaseLogger | undefined;
  readonly isShuttingDown: () => boolean;
  readonly reportError: (error: unknown) => void;
  readonly allowedHosts: readonly string[];
  readonly trustProxy: readonly string[];
  readonly maxHandshakesPerSecondPerAddress: number;
}

export function makeHost(parts: HostParts): Host {
  const addresses = new ClientAddresses(parts.trustProxy);
  const hostRules = parseOrigins(parts.allowedHosts);
  const handshakes = new KeyedRateLimit(parts.maxHandshakesPerSecondPerAddress);
  const { rooms, events, instruments, budget, log, isShuttingDown, reportError } = parts;
  return {
    rooms,
    events,
    instruments,
    log,
    isShuttingDown,
    reportError,
    clientAddress: (req) => addresses.addressOf(req),
    isSecure: (req) => addresses.isSecure(req),
    // A Host header is `host[:port]`; judged as the origin `http://<host>` against the list.
    isHostAllowed: (host) =>
      hostRules.length === 0 || (host !== undefined && isOriginAllowed(hostRules, `http://${host}`)),
    allowHandshake: (address) => handshakes.allow(address),
    reserve: (remoteAddress) => budget.reserve(remoteAddress),
  };
}
