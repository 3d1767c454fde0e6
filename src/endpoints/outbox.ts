/**
 * The outbound side of a plain websocket connection: one ordered queue of messages and
 * streamed messages, fed to `ws` only while the socket has at most `highWaterMarkBytes`
 * unsent (so a client that stops reading makes senders wait instead of growing memory).
 *
 * A queued message counts as *accepted* (its `send()` resolves) once it is among the first
 * `sendBuffer` queue entries or has been handed to the socket: go-macaron's buffered send
 * channel, with the same capacity semantics, `0` meaning "wait until written".
 *
 * A streamed message (`sendMessage`) holds the head of the queue from its first fragment to
 * its final frame, so nothing else is interleaved inside it (RFC 6455 §5.4).
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { TickCork } from '../wire/ws-frame.js';
import { waitForDrain } from '../wire/overflow.js';

type Done = (error?: Error) => void;

interface MessageJob {
  readonly kind: 'message';
  readonly data: Buffer | string;
  readonly binary: boolean;
  /** `data` framed once for every recipient of a fan-out (ws-frame.ts). */
  readonly frame?: Buffer;
  isAccepted: boolean;
  readonly onAccepted?: () => void;
  readonly onWritten?: Done;
  readonly onDropped: (error: Error) => void;
}

export interface StreamJob {
  readonly kind: 'stream';
  readonly binary: boolean;
  readonly chunks: Array<{ readonly data: Buffer; readonly done: Done }>;
  isAccepted: boolean;
  isStarted: boolean;
  isEnded: boolean;
  onEnd?: Done;
  readonly onDropped: (error: Error) => void;
}

type Job = MessageJob | StreamJob;

export interface OutboxLimits {
  readonly sendBuffer: number;
  readonly highWaterMarkBytes: number;
  readonly writeTimeoutMs: number;
}

export interface OutboxHooks {
  /** A write failed or made no progress for `writeTimeoutMs`. */
  onWriteFailure(error: Error | 'timeout'): void;
  /** The queue became empty (used by a close that waits for the flush). */
  onFlushed(): void;
}

const EMPTY = Buffer.alloc(0);

export class Outbox {
  private readonly jobs: Job[] = [];
  private inFlight = 0;
  /** @internal (DrainWaiter) */
  isWaitingForDrain = false;
  private watchdog: NodeJS.Timeout | undefined;
  private isOpen = true;
  /** Made on the first shared frame written. */
  private cork: TickCork | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly limits: OutboxLimits,
    private readonly hooks: OutboxHooks,
  ) {}

  /** Entries not yet handed to the socket. */
  get length(): number {
    return this.jobs.length;
  }

  /** Whether one more message would be accepted at once. */
  get hasRoom(): boolean {
    return this.jobs.length < this.limits.sendBuffer || (this.jobs.length === 0 && this.canWrite());
  }

  /** Queues a message; `onAccepted` runs once it fits the buffer, `onWritten` once the socket took it. */
  push(job: Omit<MessageJob, 'kind' | 'isAccepted'>): void {
    this.jobs.push({ ...job, kind: 'message', isAccepted: false });
    this.pump();
  }

  /** Queues a streamed message; the caller adds chunks and ends it through the returned job. */
  pushStream(binary: boolean, onDropped: (error: Error) => void): StreamJob {
    const job: StreamJob = {
      kind: 'stream',
      binary,
      chunks: [],
      isAccepted: false,
      isStarted: false,
      isEnded: false,
      onDropped,
    };
    this.jobs.push(job);
    this.pump();
    return job;
  }

  /** Removes a stream that never started (its writable was destroyed early). */
  discard(job: StreamJob): void {
    const index = this.jobs.indexOf(job);
    if (index !== -1 && !job.isStarted) this.jobs.splice(index, 1);
    this.pump();
  }

  /** Drops what cannot go out before a close: everything behind an unfinished stream. */
  trimForClose(error: Error): void {
    const blocker = this.jobs.findIndex((job) => job.kind === 'stream' && !job.isEnded);
    if (blocker === -1) return;
    for (const job of this.jobs.splice(blocker)) fail(job, error);
  }

  /** Fails every queued entry (the connection is gone); returns how many messages were lost. */
  shutdown(error: Error): number {
    this.isOpen = false;
    this.stopWatchdog();
    const lost = this.jobs.splice(0);
    for (const job of lost) fail(job, error);
    return lost.length;
  }

  /** Feeds the socket while it is below the high-water mark. */
  pump(): void {
    while (this.isOpen && this.jobs.length > 0 && this.ws.readyState === WebSocket.OPEN) {
      if (!this.canWrite()) {
        this.waitForDrain();
        break;
      }
      if (!this.writeHead()) break;
    }
    this.acceptWithinBuffer();
    this.updateWatchdog();
    if (this.jobs.length === 0) this.hooks.onFlushed();
  }

  /** Writes the next frame of the head entry; false when the head is a stream waiting for data. */
  private writeHead(): boolean {
    const job = this.jobs[0] as Job;
    if (job.kind === 'message') {
      this.jobs.shift();
      this.accept(job);
      this.write(job.data, job.binary, true, job.onWritten, job.frame);
      return true;
    }
    const chunk = job.chunks.shift();
    if (chunk !== undefined) {
      job.isStarted = true;
      this.accept(job);
      this.write(chunk.data, job.binary, false, chunk.done);
      return true;
    }
    if (!job.isEnded) return false;
    this.jobs.shift();
    this.accept(job);
    this.write(EMPTY, job.binary, true, job.onEnd);
    return true;
  }

  private write(data: Buffer | string, binary: boolean, fin: boolean, done: Done | undefined, frame?: Buffer): void {
    this.inFlight++;
    const onSent = (error?: Error | null): void => {
      this.inFlight--;
      done?.(error ?? undefined);
      if (error != null) {
        if (this.isOpen) this.hooks.onWriteFailure(error);
        return;
      }
      this.restartWatchdog();
    };
    // A fan-out's shared frame goes to the socket directly (ws-frame.ts); ws keeps its order
    // with its own writes as long as no extension (permessage-deflate) was negotiated.
    if (frame !== undefined && this.ws.extensions === '') {
      (this.cork ??= new TickCork(this.socket)).cork();
      this.socket.write(frame, onSent);
    } else {
      this.ws.send(data, { binary, fin }, onSent);
    }
  }

  private canWrite(): boolean {
    return this.ws.bufferedAmount <= this.limits.highWaterMarkBytes;
  }

  private waitForDrain(): void {
    waitForDrain(this.socket, this);
  }

  /** @internal (DrainWaiter) */
  isBackedUp(): boolean {
    return false;
  }

  /** @internal (DrainWaiter) */
  drained(): void {
    this.restartWatchdog();
    this.pump();
  }

  private acceptWithinBuffer(): void {
    const window = Math.min(this.limits.sendBuffer, this.jobs.length);
    for (let i = 0; i < window; i++) this.accept(this.jobs[i] as Job);
  }

  private accept(job: Job): void {
    if (job.isAccepted) return;
    job.isAccepted = true;
    if (job.kind === 'message') job.onAccepted?.();
  }

  // The watchdog runs while bytes wait for the network (in flight or held for a drain) and
  // is restarted by every sign of progress: a write callback or a drain.
  private isBusy(): boolean {
    return this.inFlight > 0 || this.isWaitingForDrain;
  }

  private updateWatchdog(): void {
    if (this.limits.writeTimeoutMs === 0 || !this.isOpen) return;
    if (!this.isBusy()) this.stopWatchdog();
    else this.watchdog ??= setTimeout(() => this.onWatchdog(), this.limits.writeTimeoutMs);
  }

  private restartWatchdog(): void {
    this.stopWatchdog();
    this.updateWatchdog();
  }

  private stopWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private onWatchdog(): void {
    this.watchdog = undefined;
    if (this.isOpen && this.isBusy()) this.hooks.onWriteFailure('timeout');
  }
}

/** Settles everything a dropped entry still owes its caller (send promises, stream callbacks). */
function fail(job: Job, error: Error): void {
  job.onDropped(error);
  if (job.kind !== 'stream') return;
  for (const chunk of job.chunks.splice(0)) chunk.done(error);
  job.onEnd?.(error);
}
