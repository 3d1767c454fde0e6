/**
 * One session's writes to the shared session store (hub/session-store.ts), in order: the
 * frames it accepts, what its client has, and changes of its record. Frames go to the store
 * together, once per turn of the event loop (a broadcast to every session makes one append per
 * session, not one per frame), and no frame goes to a transport before the store has it: a
 * node that dies can leave nothing on a client's screen that the node taking over does not
 * know of. When the store cannot take them (it is down), frames go out all the same and are
 * counted as not durable.
 */
import type { AppendResult, LogPositions, SessionChange, SessionStore } from '../hub/session-store.js';

/** What the journal tells its session. */
export interface JournalOwner {
  /** Frames through `seq` are durable (or given up on): they may go out. */
  durableThrough(seq: number): void;
  /** `count` frames could not be made durable (the store is down); they go out all the same. */
  notDurable(count: number): void;
  /** The store says another node owns the session now: this one must let it go. */
  ownershipLost(): void;
}

/** How long a trim may wait for an append to ride with. */
const FORGET_DELAY_MS = 250;

export class SessionJournal {
  private frames: string[] = [];
  private seqs: number[] = [];
  private positions: Record<string, string> | null = null;
  private forgetThrough = 0;
  private forgotten = 0;
  private dropped: number[] = [];
  private isScheduled = false;
  private forgetTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: SessionStore,
    readonly sessionId: string,
    private readonly owner: JournalOwner,
  ) {}

  /** A frame accepted: it goes to the store with the others of this turn. */
  accepted(frame: string, seq: number, position?: { readonly node: string; readonly id: string }): void {
    this.frames.push(frame);
    this.seqs.push(seq);
    if (position !== undefined) (this.positions ??= {})[position.node] = position.id;
    this.schedule();
  }

  /**
   * The client has every frame through `seq` (acknowledged, or settled on a socket). It goes
   * with the next append, or on its own a little later: a busy session pays one call for both.
   */
  forget(seq: number): void {
    if (seq <= this.forgetThrough) return;
    this.forgetThrough = seq;
    if (this.isScheduled || this.forgetTimer !== null) return;
    this.forgetTimer = setTimeout(() => {
      this.forgetTimer = null;
      this.write();
    }, FORGET_DELAY_MS);
  }

  /** Frames given up to make room (`drop-oldest`). */
  drop(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    this.dropped.push(...seqs);
    this.schedule();
  }

  update(change: SessionChange): void {
    this.store.update(this.sessionId, change);
  }

  /**
   * This node lets the session go (a graceful shutdown): any node may take it over; it ends
   * if its client is not back within `windowMs`.
   */
  releaseToCluster(windowMs: number): void {
    this.write();
    this.store.release(this.sessionId, windowMs);
  }

  /** The session ended: its record and frames go. */
  removed(): void {
    if (this.forgetTimer !== null) clearTimeout(this.forgetTimer);
    this.store.remove(this.sessionId);
  }

  private schedule(): void {
    if (this.isScheduled) return;
    this.isScheduled = true;
    queueMicrotask(() => this.write());
  }

  private write(): void {
    this.isScheduled = false;
    if (this.frames.length > 0) {
      const frames = { frames: this.frames, seqs: this.seqs };
      const positions: LogPositions | undefined = this.positions ?? undefined;
      const lastSeq = this.seqs[this.seqs.length - 1] as number;
      const through = this.forgetThrough > this.forgotten ? this.forgetThrough : 0;
      this.forgotten = Math.max(this.forgotten, this.forgetThrough);
      this.frames = [];
      this.seqs = [];
      this.positions = null;
      void this.store
        .append(this.sessionId, frames, positions, through)
        .then((result) => this.appended(result, lastSeq, frames.frames.length));
    }
    if (this.forgetThrough > this.forgotten || this.dropped.length > 0) {
      this.forgotten = this.forgetThrough;
      const dropped = this.dropped;
      this.dropped = [];
      this.store.forget(this.sessionId, this.forgetThrough, dropped);
    }
  }

  private appended(result: AppendResult, lastSeq: number, count: number): void {
    if (result === 'not-owner') return this.owner.ownershipLost();
    if (result === 'unavailable') this.owner.notDurable(count);
    this.owner.durableThrough(lastSeq);
  }
}
