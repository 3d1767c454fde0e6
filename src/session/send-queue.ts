/**
 * A FIFO of encoded frames bounded by count and by UTF-8 bytes. It drops nothing by itself:
 * `push` refuses a frame that would cross a bound and counts the refusal, and the session
 * decides what a refusal means (refuse the send, close as a slow consumer, or make room by
 * dropping the oldest frames with `dropOldest`, which it counts as lost).
 */
export interface SendQueueLimits {
  /** Most frames held at once. */
  readonly maxQueueMessages: number;
  /** Most UTF-8 bytes held at once. */
  readonly maxQueueBytes: number;
}

export class SendQueue {
  private frames: string[] = [];
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

  /**
   * Adds a frame of `bytes` UTF-8 bytes; false (and counted) when a bound would be crossed.
   * `countsFrames` false: only the byte bound applies (a session inside its reconnect window).
   */
  push(frame: string, bytes: number, countsFrames = true): boolean {
    if (!this.fits(bytes, countsFrames)) {
      this.overflows++;
      return false;
    }
    this.frames.push(frame);
    this.byteCount += bytes;
    return true;
  }

  /** Whether a frame of `bytes` would fit now. */
  fits(bytes: number, countsFrames = true): boolean {
    const isCountOk = !countsFrames || this.frames.length + 1 <= this.limits.maxQueueMessages;
    return isCountOk && this.byteCount + bytes <= this.limits.maxQueueBytes;
  }

  /**
   * Drops the oldest frames until a frame of `bytes` fits; returns how many were dropped.
   * A frame larger than the whole byte bound never fits: nothing is dropped for it.
   */
  dropOldest(bytes: number, countsFrames = true): number {
    const { maxQueueMessages, maxQueueBytes } = this.limits;
    if (bytes > maxQueueBytes) return 0;
    const held = this.frames.length;
    let dropped = 0;
    while (dropped < held) {
      const isCountOk = !countsFrames || held - dropped + 1 <= maxQueueMessages;
      if (isCountOk && this.byteCount + bytes <= maxQueueBytes) break;
      this.byteCount = Math.max(0, this.byteCount - Buffer.byteLength(this.frames[dropped] as string, 'utf8'));
      dropped++;
    }
    if (dropped > 0) this.frames = this.frames.slice(dropped);
    return dropped;
  }

  /** Puts frames back at the head, in order, regardless of the bounds (they were accepted). */
  unshift(frames: readonly string[], bytes: number): void {
    this.frames = [...frames, ...this.frames];
    this.byteCount += bytes;
  }

  /** Takes every frame out, oldest first. */
  drain(): { frames: string[]; bytes: number } {
    const drained = { frames: this.frames, bytes: this.byteCount };
    this.frames = [];
    this.byteCount = 0;
    return drained;
  }
}
