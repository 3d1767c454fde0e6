/**
 * A FIFO of encoded frames, each with its sequence number, bounded by count and by UTF-8
 * bytes. It drops nothing by itself: `push` refuses a frame that would cross a bound and
 * counts the refusal, and the session decides what a refusal means (refuse the send, close as
 * a slow consumer, or make room by dropping the oldest frames with `dropOldest`, which it
 * counts as lost). Numbers rise along the queue but need not be consecutive: frames dropped
 * or acknowledged leave gaps.
 */
export interface SendQueueLimits {
  /** Most frames held at once. */
  readonly maxQueueMessages: number;
  /** Most UTF-8 bytes held at once. */
  readonly maxQueueBytes: number;
}

/** Frames taken out of (or put back into) a queue, oldest first, with their numbers. */
export interface Frames {
  readonly frames: string[];
  readonly seqs: number[];
  readonly bytes: number;
}

export const NO_FRAMES: Frames = Object.freeze({ frames: [], seqs: [], bytes: 0 }) as Frames;

export class SendQueue {
  private frames: string[] = [];
  private seqs: number[] = [];
  private byteCount = 0;
  /** Frames refused because a bound was reached, since the queue was made. */
  overflows = 0;

  constructor(private readonly limits: SendQueueLimits) {}

  get length(): number {
    return this.frames.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** The number of the newest frame, or 0 when empty. */
  get lastSeq(): number {
    return this.seqs[this.seqs.length - 1] ?? 0;
  }

  /**
   * Adds frame `seq` of `bytes` UTF-8 bytes; false (and counted) when a bound would be crossed.
   * `countsFrames` false: only the byte bound applies (a session inside its reconnect window).
   */
  push(frame: string, bytes: number, seq: number, countsFrames = true): boolean {
    if (!this.fits(bytes, countsFrames)) {
      this.overflows++;
      return false;
    }
    this.frames.push(frame);
    this.seqs.push(seq);
    this.byteCount += bytes;
    return true;
  }

  /** Whether a frame of `bytes` would fit now. */
  fits(bytes: number, countsFrames = true): boolean {
    const isCountOk = !countsFrames || this.frames.length + 1 <= this.limits.maxQueueMessages;
    return isCountOk && this.byteCount + bytes <= this.limits.maxQueueBytes;
  }

  /**
   * Drops the oldest frames until a frame of `bytes` fits; returns the numbers of those
   * dropped. A frame larger than the whole byte bound never fits: nothing is dropped for it.
   */
  dropOldest(bytes: number, countsFrames = true): number[] {
    const { maxQueueMessages, maxQueueBytes } = this.limits;
    if (bytes > maxQueueBytes) return [];
    const held = this.frames.length;
    let dropped = 0;
    let byteCount = this.byteCount;
    while (dropped < held) {
      const isCountOk = !countsFrames || held - dropped + 1 <= maxQueueMessages;
      if (isCountOk && byteCount + bytes <= maxQueueBytes) break;
      byteCount = Math.max(0, byteCount - Buffer.byteLength(this.frames[dropped] as string, 'utf8'));
      dropped++;
    }
    return this.takeFirst(dropped, byteCount).seqs;
  }

  /** Drops the frames numbered `seq` and below (the client has them); returns how many. */
  dropThrough(seq: number): number {
    let count = 0;
    while (count < this.seqs.length && (this.seqs[count] as number) <= seq) count++;
    if (count === 0) return 0;
    let byteCount = this.byteCount;
    for (let i = 0; i < count; i++) byteCount -= Buffer.byteLength(this.frames[i] as string, 'utf8');
    this.takeFirst(count, Math.max(0, byteCount));
    return count;
  }

  /** Puts frames back at the head, in order, regardless of the bounds (they were accepted). */
  unshift(taken: Frames): void {
    if (taken.frames.length === 0) return;
    this.frames = [...taken.frames, ...this.frames];
    this.seqs = [...taken.seqs, ...this.seqs];
    this.byteCount += taken.bytes;
  }

  /** Takes out the frames numbered `seq` and below, oldest first. */
  drainThrough(seq: number): Frames {
    if (this.lastSeq <= seq) return this.drain();
    let count = 0;
    while (count < this.seqs.length && (this.seqs[count] as number) <= seq) count++;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += Buffer.byteLength(this.frames[i] as string, 'utf8');
    return this.takeFirst(count, this.byteCount - bytes);
  }

  /** Takes every frame out, oldest first. */
  drain(): Frames {
    const drained = { frames: this.frames, seqs: this.seqs, bytes: this.byteCount };
    this.frames = [];
    this.seqs = [];
    this.byteCount = 0;
    return drained;
  }

  private takeFirst(count: number, bytesLeft: number): Frames {
    if (count === 0) return NO_FRAMES;
    const taken = {
      frames: this.frames.slice(0, count),
      seqs: this.seqs.slice(0, count),
      bytes: this.byteCount - bytesLeft,
    };
    this.frames = this.frames.slice(count);
    this.seqs = this.seqs.slice(count);
    this.byteCount = bytesLeft;
    return taken;
  }
}
