/**
 * What the metrics and the dashboard count, as one Instruments implementation per server:
 * plain numbers in tables made once, so a message in or out is a property read and an
 * addition — no label object, no string built, no closure (the hot path's allocation budget).
 * Readers (a Prometheus scrape, the dashboard's second tick) walk the tables when they ask.
 *
 * Labels are low-cardinality by construction: a family (three), a transport (the six 0.6
 * names, or `websocket`), a close or loss reason from a closed set. Never an id or a room.
 */
import type { Family, Instruments } from '../hub/instruments.js';
import type { DisconnectReason } from '../hub/results.js';

export const FAMILIES: readonly Family[] = ['socketio06', 'sacsock', 'endpoint'];

/** Upper bounds (ms) of the fan-out duration histogram's buckets (+Inf is implied). */
export const FANOUT_BUCKETS_MS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250];

/** Per family: counts by a second key (transport, reason). */
type Keyed = Record<Family, Map<string, number>>;
/** Per family: per transport: counts by reason. */
type KeyedTwice = Record<Family, Map<string, Map<string, number>>>;
type PerFamily = Record<Family, number>;

function perFamily(): PerFamily {
  return { socketio06: 0, sacsock: 0, endpoint: 0 };
}

function keyed(): Keyed {
  return { socketio06: new Map(), sacsock: new Map(), endpoint: new Map() };
}

function bump(map: Map<string, number>, key: string, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export class OpsCounters implements Instruments {
  /** Open sessions/sockets/connections by family and transport. */
  readonly open: Keyed = keyed();
  /** Sessions ever opened, by family and transport. */
  readonly openedTotal: Keyed = keyed();
  readonly closedByReason: KeyedTwice = { socketio06: new Map(), sacsock: new Map(), endpoint: new Map() };
  readonly receivedTotal: PerFamily = perFamily();
  readonly sentTotal: PerFamily = perFamily();
  readonly lostByReason: Keyed = keyed();
  readonly overflows: PerFamily = perFamily();
  fanOutDeliveries = 0;
  fanOutCount = 0;
  fanOutSumMs = 0;
  /** Cumulative counts per bucket of FANOUT_BUCKETS_MS (the last one is +Inf). */
  readonly fanOutBuckets = new Float64Array(FANOUT_BUCKETS_MS.length + 1);
  /** Upgrades refused before they opened anything (counted by the upgrade dispatcher's hook). */
  upgradesRefused = 0;

  // The Instruments seam. `opened`/`closed` also run per connection, not per message: the
  // Map lookups there are fine; the per-message ones below touch numbers only.

  opened(family: Family, transport: string): void {
    bump(this.open[family], transport, 1);
    bump(this.openedTotal[family], transport, 1);
  }

  closed(family: Family, transport: string, reason: DisconnectReason | string): void {
    bump(this.open[family], transport, -1);
    const byTransport = this.closedByReason[family];
    let byReason = byTransport.get(transport);
    if (byReason === undefined) byTransport.set(transport, (byReason = new Map()));
    bump(byReason, reason, 1);
  }

  received(family: Family, count: number): void {
    this.receivedTotal[family] += count;
  }

  sent(family: Family, count: number): void {
    this.sentTotal[family] += count;
  }

  lost(family: Family, reason: string, count: number): void {
    bump(this.lostByReason[family], reason, count);
  }

  overflowed(family: Family): void {
    this.overflows[family]++;
  }

  fannedOut(deliveries: number, durationMs: number): void {
    this.fanOutDeliveries += deliveries;
    this.fanOutCount++;
    this.fanOutSumMs += durationMs;
    let bucket = 0;
    while (bucket < FANOUT_BUCKETS_MS.length && durationMs > (FANOUT_BUCKETS_MS[bucket] as number)) bucket++;
    this.fanOutBuckets[bucket]!++;
  }

  /** Open connections of one family, every transport. */
  openIn(family: Family): number {
    let total = 0;
    for (const count of this.open[family].values()) total += count;
    return total;
  }
}
