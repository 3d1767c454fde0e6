/**
 * A FIFO of encoded frames bounded by count and by UTF-8 bytes. It never drops: `push`
 * refuses a frame that would cross a bound and counts the refusal, and the session decides
 * what a refusal means (refuse the send, or close as a slow consumer).
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

  /** Adds a frame of `bytes` UTF-8 bytes; false (and counted) when a bound would be crossed. */
  push(frame: string, bytes: number): boolean {
    if (this.frames.length + 1 > this.limits.maxQueueMessages || this.byteCount + bytes > this.limits.maxQueueBytes) {
      this.overflows++;
      return false;
    }
    this.frames.push(frame);
    this.byteCount += bytes;
    return true;
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
