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

/**
 * Several instruments as one (the application's and the metrics' at once). Indexed loops, not
 * `forEach` with an arrow: an arrow capturing the arguments would be an allocation per message.
 */
export function combineInstruments(list: readonly Instruments[]): Instruments {
  if (list.length === 0) return NO_INSTRUMENTS;
  if (list.length === 1) return list[0] as Instruments;
  const all = [...list];
  const n = all.length;
  return {
    opened(f, t) {
      for (let i = 0; i < n; i++) all[i]!.opened(f, t);
    },
    closed(f, t, r) {
      for (let i = 0; i < n; i++) all[i]!.closed(f, t, r);
    },
    received(f, count) {
      for (let i = 0; i < n; i++) all[i]!.received(f, count);
    },
    sent(f, count) {
      for (let i = 0; i < n; i++) all[i]!.sent(f, count);
    },
    lost(f, r, count) {
      for (let i = 0; i < n; i++) all[i]!.lost(f, r, count);
    },
    overflowed(f) {
      for (let i = 0; i < n; i++) all[i]!.overflowed(f);
    },
    fannedOut(d, ms) {
      for (let i = 0; i < n; i++) all[i]!.fannedOut(d, ms);
    },
  };
}
