/**
 * The outbound side of a plain websocket connection. A message goes straight to the socket
 * when nothing is queued ahead of it and the socket holds at most `highWaterMarkBytes`
 * unsent (`tryWrite`: no job, no promise, one shared write callback); otherwise it waits in
 * one ordered queue of messages and streamed messages, fed to `ws` as the socket drains, so
 * a client that stops reading makes senders wait instead of growing memory.
 *
 * A queued message counts as *accepted* (its `send()` resolves) once it is among the first
 * `sendBuffer` queue entries or has been handed to the socket: go-macaron's buffered send
 * channel, with the same capacity semantics, `0` meaning "wait until written".
 *
 * A streamed message (`sendMessage`) holds the head of the queue from its first fragment to
 * its final frame, so nothing else is interleaved inside it (RFC 6455 §5.4).
 *
 * The write watchdog (`writeTimeoutMs`) is a step list of the endpoint (keep-alive.ts):
 * writes only flag their progress.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { TickCork } from '../wire/ws-frame.js';
import { waitForDrain } from '../wire/overflow.js';
import type { KeepAlive, WriteWatched } from './keep-alive.js';

type Done = (error?: Error) => void;

export interface MessageJob {
  readonly kind: 'message';
  readonly data: Buffer | string;
  /** `data` framed once for every recipient of a fan-out (ws-frame.ts). */
  readonly frame: Buffer | undefined;
  isAccepted: boolean;
  readonly onAccepted: (() => void) | undefined;
  readonly onWritten: Done | undefined;
  readonly onDropped: ((error: Error) => void) | undefined;
}

export interface StreamJob {
  readonly kind: 'stream';
  readonly binary: boolean;
  readonly chunks: Array<{ readonly data: Buffer; readonly done: Done }>;
  isAccepted: boolean;
  isStarted: boolean;
  isEnded: boolean;
  onEnd?: Done;
}

type Job = MessageJob | StreamJob;

export interface OutboxLimits {
  readonly sendBuffer: number;
  readonly sendHighWaterMarkBytes: number;
}

export interface OutboxHooks {
  /** A write failed or made no progress for `writeTimeoutMs`. */
  onWriteFailure(error: Error | 'timeout'): void;
  /** The queue became empty (used by a close that waits for the flush). */
  onFlushed(): void;
}

const EMPTY = Buffer.alloc(0);

export class Outbox implements WriteWatched {
  private readonly jobs: Job[] = [];
  private inFlight = 0;
  /** Sends whose promise waits for this outbox (bounded by `MAX_WAITING_SENDS`). */
  waitingSends = 0;
  /** @internal (DrainWaiter) */
  isWaitingForDrain = false;
  /** @internal (WriteWatched) */
  isWriteWatched = false;
  /** @internal (WriteWatched) */
  hasWriteProgress = false;
  /** @internal (WriteWatched) */
  writeSteps = 0;
  private isOpen = true;
  /** Made on the first shared frame written. */
  private cork: TickCork | null = null;
  /** Prepared frames go to the socket directly where ws's order allows (see ws-frame.ts). */
  private readonly canWriteFrames: boolean;
  /** The callback of every write that settles nothing but the outbox: a bound method, not a closure per write. */
  private readonly onSent: (error?: Error | null) => void = this.sent.bind(this);

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly limits: OutboxLimits,
    private readonly hooks: OutboxHooks,
    private readonly keepAlive: KeepAlive,
  ) {
    this.canWriteFrames = ws.extensions === '';
  }

  /** Entries not yet handed to the socket. */
  get length(): number {
    return this.jobs.length;
  }

  /** Whether one more message would be accepted at once. */
  get hasRoom(): boolean {
    return this.jobs.length < this.limits.sendBuffer || (this.jobs.length === 0 && this.canWrite());
  }

  /**
   * Hands a message to the socket now if nothing waits ahead of it and the socket is below
   * its mark; false when it must be queued instead (`push`).
   */
  tryWrite(data: Buffer | string, frame?: Buffer): boolean {
    if (this.jobs.length !== 0 || !this.isOpen || !this.canWrite() || this.ws.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.write(data, typeof data !== 'string', true, this.onSent, frame);
    return true;
  }

  /** `tryWrite` for a fan-out's shared frame (its data is made only if it must wait). */
  tryWriteFrame(frame: Buffer): boolean {
    return this.canWriteFrames && this.tryWrite(EMPTY, frame);
  }

  /** Queues a message; `onAccepted` runs once it fits the buffer, `onWritten` once the socket took it. */
  push(
    data: Buffer | string,
    frame: Buffer | undefined,
    onAccepted?: () => void,
    onWritten?: Done,
    onDropped?: (error: Error) => void,
  ): void {
    this.jobs.push({ kind: 'message', data, frame, isAccepted: false, onAccepted, onWritten, onDropped });
    this.pump();
  }

  /** Queues a streamed message; the caller adds chunks and ends it through the returned job. */
  pushStream(binary: boolean): StreamJob {
    const job: StreamJob = { kind: 'stream', binary, chunks: [], isAccepted: false, isStarted: false, isEnded: false };
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
    if (this.jobs.length === 0) this.hooks.onFlushed();
  }

  /** Writes the next frame of the head entry; false when the head is a stream waiting for data. */
  private writeHead(): boolean {
    const job = this.jobs[0] as Job;
    if (job.kind === 'message') {
      this.jobs.shift();
      accept(job);
      this.write(job.data, typeof job.data !== 'string', true, this.settleWith(job.onWritten), job.frame);
      return true;
    }
    const chunk = job.chunks.shift();
    if (chunk !== undefined) {
      job.isStarted = true;
      accept(job);
      this.write(chunk.data, job.binary, false, this.settleWith(chunk.done));
      return true;
    }
    if (!job.isEnded) return false;
    this.jobs.shift();
    accept(job);
    this.write(EMPTY, job.binary, true, this.settleWith(job.onEnd));
    return true;
  }

  /** The write callback that settles `done` too (a caller waiting for "written"). */
  private settleWith(done: Done | undefined): (error?: Error | null) => void {
    if (done === undefined) return this.onSent;
    return (error) => {
      this.sent(error);
      done(error ?? undefined);
    };
  }

  private write(
    data: Buffer | string,
    binary: boolean,
    fin: boolean,
    onSent: (error?: Error | null) => void,
    frame?: Buffer,
  ): void {
    if (this.inFlight++ === 0) this.keepAlive.writing(this);
    // A fan-out's shared frame goes to the socket directly (ws-frame.ts); ws keeps its order
    // with its own writes as long as no extension (permessage-deflate) was negotiated.
    if (frame !== undefined && this.canWriteFrames) {
      (this.cork ??= new TickCork(this.socket)).cork();
      this.socket.write(frame, onSent);
    } else if (fin && binary === (typeof data !== 'string')) {
      // ws infers the opcode from the data: no options object to spread.
      this.ws.send(data, onSent);
    } else {
      this.ws.send(data, { binary, fin }, onSent);
    }
  }

  /** Every write's own part of its callback: progress for the watchdog, or the failure. */
  private sent(error?: Error | null): void {
    this.inFlight--;
    this.hasWriteProgress = true;
    if (error != null && this.isOpen) this.hooks.onWriteFailure(error);
  }

  private canWrite(): boolean {
    return this.ws.bufferedAmount <= this.limits.sendHighWaterMarkBytes;
  }

  private waitForDrain(): void {
    if (!this.isWaitingForDrain) this.keepAlive.writing(this);
    waitForDrain(this.socket, this);
  }

  /** @internal (DrainWaiter) */
  isBackedUp(): boolean {
    return false;
  }

  /** @internal (DrainWaiter) */
  drained(): void {
    this.hasWriteProgress = true;
    this.pump();
  }

  /** @internal (WriteWatched) bytes wait for the network: in flight, or held for a drain. */
  isWriting(): boolean {
    return this.isOpen && (this.inFlight > 0 || this.isWaitingForDrain);
  }

  /** @internal (WriteWatched) */
  writeExpired(): void {
    if (this.isOpen) this.hooks.onWriteFailure('timeout');
  }

  private acceptWithinBuffer(): void {
    const window = Math.min(this.limits.sendBuffer, this.jobs.length);
    for (let i = 0; i < window; i++) accept(this.jobs[i] as Job);
  }
}

function accept(job: Job): void {
  if (job.isAccepted) return;
  job.isAccepted = true;
  if (job.kind === 'message') job.onAccepted?.();
}

/** Settles everything a dropped entry still owes its caller (send promises, stream callbacks). */
function fail(job: Job, error: Error): void {
  if (job.kind === 'message') {
    job.onDropped?.(error);
    return;
  }
  for (const chunk of job.chunks.splice(0)) chunk.done(error);
  job.onEnd?.(error);
}
