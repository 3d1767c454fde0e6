/**
 * Session timers without a Node `Timeout` per session.
 *
 * A session has one timer slot, and every delay it arms is one of a few per-server
 * constants (heartbeat interval, heartbeat timeout, reconnect window). A timer of a fixed
 * delay armed now falls due after every timer of that delay armed before it, so each
 * (delay, callback) pair keeps its items in arming order (a Map, which keeps insertion
 * order) with their due times, and one Node timer for the earliest. That is how Node lays
 * out its own timer lists; what it saves is the `Timeout` object, its argument array and
 * its numbers, about 200 bytes on every idle session (bench D).
 *
 * Due times come from `performance.now()` (monotonic: a wall-clock step must not stall or
 * rush heartbeats), rounded to whole milliseconds.
 */

/** One (delay, callback) pair's items, in arming order, with their due times. */
export class TimerList<T> {
  private readonly due = new Map<T, number>();
  private timer: NodeJS.Timeout | null = null;
  /** While `fire` runs its callbacks: it arms the Node timer itself once they are done. */
  private isFiring = false;

  constructor(
    readonly delayMs: number,
    private readonly callback: (item: T) => void,
  ) {}

  get size(): number {
    return this.due.size;
  }

  /** Arms `item` (the caller has removed it from any other list first). */
  add(item: T): void {
    this.due.set(item, now() + this.delayMs);
    if (this.timer === null && !this.isFiring) this.arm(this.delayMs);
  }

  /** Disarms `item`; false when it was not armed here. */
  delete(item: T): boolean {
    if (!this.due.delete(item)) return false;
    if (this.due.size === 0) this.disarm();
    return true;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(fire, delayMs, this);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** @internal Node timer callback: runs every item now due, then waits for the next. */
  fire(): void {
    this.timer = null;
    this.isFiring = true;
    // Node's timer clock and performance.now() may round a millisecond apart.
    const until = now() + 1;
    try {
      for (const [item, due] of this.due) {
        if (due > until) break;
        // Removed first: the callback may arm the same item again, at the end of this list.
        this.due.delete(item);
        this.callback(item);
      }
    } finally {
      // Even after a throw, nothing behind it is stranded.
      this.isFiring = false;
      const next = this.due.values().next();
      if (next.done !== true) this.arm(Math.max(1, next.value - now()));
    }
  }
}

function now(): number {
  return Math.round(performance.now());
}

// Module-level timer callback: no closure per list.
function fire<T>(list: TimerList<T>): void {
  list.fire();
}

/**
 * The timer lists of one server (no module-level state: two servers never share a timer).
 * Each item is in at most one list; the owner keeps which (its one slot), and forgets it
 * when the callback runs.
 */
export class TimerLists<T> {
  private readonly lists = new Map<(item: T) => void, Map<number, TimerList<T>>>();

  /** The list that calls `callback(item)` `delayMs` after an item is added. */
  list(callback: (item: T) => void, delayMs: number): TimerList<T> {
    let byDelay = this.lists.get(callback);
    if (byDelay === undefined) {
      byDelay = new Map();
      this.lists.set(callback, byDelay);
    }
    let list = byDelay.get(delayMs);
    if (list === undefined) {
      list = new TimerList(delayMs, callback);
      byDelay.set(delayMs, list);
    }
    return list;
  }
}
