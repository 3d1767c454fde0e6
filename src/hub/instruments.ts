/**
 * The instrumentation seam: every family reports what happens to its connections here —
 * opened and closed, messages in, out and lost, overflows, fan-out — and whoever the server
 * plugs in (metrics, the dashboard) counts it. The default does nothing, so counting costs
 * nothing unless someone listens. Calls are plain method calls with no allocation; labels
 * are low-cardinality by construction (a family, a transport, a reason, never an id).
 */
import type { DisconnectReason } from './results.js';

/** The three protocol families, as metrics label them. */
export type Family = 'socketio06' | 'sacsock' | 'endpoint';

export interface Instruments {
  opened(family: Family, transport: string): void;
  closed(family: Family, transport: string, reason: DisconnectReason | string): void;
  /** `count` messages arrived from clients. */
  received(family: Family, count: number): void;
  /** `count` messages went out to clients (handed to a transport or queued for it). */
  sent(family: Family, count: number): void;
  /** `count` messages accepted for a client were lost (`reason`: why). */
  lost(family: Family, reason: string, count: number): void;
  /** A send queue overflowed (refused or closed, by policy). */
  overflowed(family: Family): void;
  /** One fan-out (broadcast, roomcast…) reached `deliveries` members in `durationMs`. */
  fannedOut(deliveries: number, durationMs: number): void;
}

const nothing = (): void => undefined;

/** Counts nothing: the default of a server without metrics or dashboard. */
export const NO_INSTRUMENTS: Instruments = Object.freeze({
  opened: nothing,
  closed: nothing,
  received: nothing,
  sent: nothing,
  lost: nothing,
  overflowed: nothing,
  fannedOut: nothing,
});

/** Several instruments as one (metrics and the dashboard at once). */
export function combineInstruments(list: readonly Instruments[]): Instruments {
  if (list.length === 0) return NO_INSTRUMENTS;
  if (list.length === 1) return list[0] as Instruments;
  return {
    opened: (f, t) => list.forEach((i) => i.opened(f, t)),
    closed: (f, t, r) => list.forEach((i) => i.closed(f, t, r)),
    received: (f, n) => list.forEach((i) => i.received(f, n)),
    sent: (f, n) => list.forEach((i) => i.sent(f, n)),
    lost: (f, r, n) => list.forEach((i) => i.lost(f, r, n)),
    overflowed: (f) => list.forEach((i) => i.overflowed(f)),
    fannedOut: (d, ms) => list.forEach((i) => i.fannedOut(d, ms)),
  };
}
