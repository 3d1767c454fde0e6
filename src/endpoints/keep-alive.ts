/**
 * Every timer of a plain endpoint's connections: keep-alive pings, the idle deadline, the
 * write watchdog and the close deadline, as entries in the endpoint's timer lists
 * (`hub/timer-lists.ts`: one Node timer per delay, however many connections), not Node
 * timers per connection — those cost a `Timeout` each on every idle connection, and a
 * clear-and-set on every message.
 *
 * The two deadlines that activity pushes back are not re-armed by it:
 *
 * - idle (`idleTimeoutMs`): activity is anything the peer sent (messages, pings, pongs),
 *   read from the socket's `bytesRead`, so a message costs the timers nothing at all;
 * - write (`writeTimeoutMs`): activity is a write that completed, or a drain.
 *
 * Instead a connection's entry comes due every 1/8 of its deadline, and the check counts the
 * steps in a row that saw no activity; the eighth ends it. The first step after the last
 * activity is never earlier than that activity, so a deadline ends a connection never before
 * it passed and at most one step (1/8 of it) after.
 *
 *   activity ─┬─ step (saw it: count 0) ─ step 1 ─ … ─ step 8: expired
 *             └──────────── ≥ the deadline ─────────────┘
 */
import { TimerList } from '../hub/timer-lists.js';

/** Quiet steps in a row that make a deadline. */
export const QUIET_STEPS = 8;

/** What the timers see of a connection (`WebSocketConnection` implements it). */
export interface KeptAlive {
  /** @internal quiet idle steps in a row */
  idleSteps: number;
  /** @internal the peer's byte count at the last idle step */
  bytesSeen: number;
  /** @internal bytes read from the peer so far */
  bytesRead(): number;
  /** @internal true while reading is paused by the receive buffer: the delay is ours then */
  readonly isReceivePaused: boolean;
  /** @internal */
  ping(): void;
  /** @internal */
  idleExpired(): void;
  /** @internal */
  closeExpired(): void;
}

/** What the write watchdog sees of a connection's outbox (`Outbox` implements it). */
export interface WriteWatched {
  /** @internal set while the outbox is in the watchdog's list */
  isWriteWatched: boolean;
  /** @internal a write completed (or a drain came) since the last step */
  hasWriteProgress: boolean;
  /** @internal quiet write steps in a row */
  writeSteps: number;
  /** @internal bytes are waiting for the network (written and not confirmed, or held for a drain) */
  isWriting(): boolean;
  /** @internal */
  writeExpired(): void;
}

export interface KeepAliveLimits {
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

/** One step of a deadline: whole milliseconds, at least 1. */
export function stepOf(deadlineMs: number): number {
  return Math.max(1, Math.ceil(deadlineMs / QUIET_STEPS));
}

/** The timer lists of one endpoint (never module-level: two servers never share a timer). */
export class KeepAlive {
  private readonly pings: TimerList<KeptAlive> | null;
  private readonly idleSteps: TimerList<KeptAlive> | null;
  private readonly writeSteps: TimerList<WriteWatched> | null;
  private readonly closeDeadlines: TimerList<KeptAlive>;

  constructor(limits: KeepAliveLimits) {
    this.pings = limits.pingIntervalMs > 0 ? new TimerList(limits.pingIntervalMs, (c) => this.onPing(c)) : null;
    this.idleSteps =
      limits.idleTimeoutMs > 0 ? new TimerList(stepOf(limits.idleTimeoutMs), (c) => this.onIdleStep(c)) : null;
    this.writeSteps =
      limits.writeTimeoutMs > 0 ? new TimerList(stepOf(limits.writeTimeoutMs), (o) => this.onWriteStep(o)) : null;
    this.closeDeadlines = new TimerList(limits.closeTimeoutMs, closeExpired);
  }

  /** A connection opened: pings and the idle deadline start. */
  start(conn: KeptAlive): void {
    this.pings?.add(conn);
    if (this.idleSteps === null) return;
    conn.bytesSeen = conn.bytesRead();
    conn.idleSteps = 0;
    this.idleSteps.add(conn);
  }

  /** The connection is closing: no more pings or idle deadline; the close deadline starts. */
  closing(conn: KeptAlive): void {
    this.pings?.delete(conn);
    this.idleSteps?.delete(conn);
    this.closeDeadlines.add(conn);
  }

  /** The connection has ended: it leaves every list. */
  ended(conn: KeptAlive, outbox: WriteWatched | null): void {
    this.pings?.delete(conn);
    this.idleSteps?.delete(conn);
    this.closeDeadlines.delete(conn);
    if (outbox !== null && outbox.isWriteWatched) {
      outbox.isWriteWatched = false;
      this.writeSteps?.delete(outbox);
    }
  }

  /** Bytes began to wait for the network: the watchdog starts unless it runs already. */
  writing(outbox: WriteWatched): void {
    if (this.writeSteps === null) return;
    if (outbox.isWriteWatched) {
      outbox.hasWriteProgress = true;
      return;
    }
    outbox.isWriteWatched = true;
    outbox.hasWriteProgress = false;
    outbox.writeSteps = 0;
    this.writeSteps.add(outbox);
  }

  private onPing(conn: KeptAlive): void {
    conn.ping();
    this.pings?.add(conn);
  }

  private onIdleStep(conn: KeptAlive): void {
    const read = conn.bytesRead();
    if (read !== conn.bytesSeen || conn.isReceivePaused) {
      conn.bytesSeen = read;
      conn.idleSteps = 0;
    } else if (++conn.idleSteps >= QUIET_STEPS) {
      conn.idleExpired();
      return;
    }
    this.idleSteps?.add(conn);
  }

  private onWriteStep(outbox: WriteWatched): void {
    outbox.isWriteWatched = false;
    // Nothing waits for the network: the watchdog rests until the next write.
    if (!outbox.isWriting()) return;
    if (outbox.hasWriteProgress) {
      outbox.hasWriteProgress = false;
      outbox.writeSteps = 0;
    } else if (++outbox.writeSteps >= QUIET_STEPS) {
      outbox.writeExpired();
      return;
    }
    outbox.isWriteWatched = true;
    this.writeSteps?.add(outbox);
  }
}

// Module-level timer callback: no closure.
function closeExpired(conn: KeptAlive): void {
  conn.closeExpired();
}
