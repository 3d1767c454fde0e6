/**
 * Delivery of one 0.6 session: every frame accepted for the client, from `send` until the
 * client has it. Frames are numbered from 1 in the order they are accepted (`seq`):
 *
 *   acknowledged │ unacknowledged poll answers │ unsettled writes │ queued
 *   ────── ≤ ackedSeq ───────────┼──────────────────────────┼────────────────────┼──── < nextSeq
 *
 * - queued: waiting for a transport, bounded by count and bytes (`SendQueue`); a full queue
 *   follows the one overflow policy (`wire/overflow.ts`), or `drop-oldest`.
 * - unsettled: handed to a transport that confirms delivery (`DeliveryLedger`); a write that
 *   fails puts its frames, and every later unsettled frame of that transport, back at the head
 *   of the queue, so a frame is sent again only when it never reached the socket.
 * - unacknowledged: a poll answer the socket took is kept until the client's next request says
 *   it arrived (the session cookie carries the last sequence number the browser received;
 *   without it the request itself is the acknowledgement). A session resumed after its
 *   transport was lost sends them again: nothing a lost answer carried is lost.
 * Frames over websockets and streams are done once settled: the 0.6 protocol has no
 * acknowledgements there.
 */
import { RealtimeError } from '../errors.js';
import type { Instruments } from '../hub/instruments.js';
import type { PreparedMessage } from '../hub/prepared.js';
import type { QueueOverflowPolicy, SendResult } from '../hub/results.js';
import { overflow } from '../wire/overflow.js';
import { DeliveryLedger, type UnsettledWrite } from './delivery-ledger.js';
import type { SessionJournal } from './journal.js';
import { NO_FRAMES, SendQueue, type Frames, type SendQueueLimits } from './send-queue.js';
import type { Transport, WriteResult } from './transport.js';

export interface OutboxOptions extends SendQueueLimits {
  readonly queueOverflow: QueueOverflowPolicy;
}

/** What the outbox needs from its session. */
export interface OutboxOwner {
  readonly instruments: Instruments;
  /** The transport now attached, or null. */
  readonly current: Transport | null;
  /** Detached inside the reconnect window: only the byte bound applies. */
  readonly isDetached: boolean;
  /** A full queue under the `close` policy: the session ends as a slow consumer. */
  closeForOverflow(error: RealtimeError): void;
}

const SENT: SendResult = Object.freeze({ ok: true });
/** This family's name on the instrumentation seam. */
export const FAMILY = 'socketio06';

export class SessionOutbox {
  /** Made on first need: most websocket sessions never queue anything. */
  private queue: SendQueue | null = null;
  /** Writes to transports that confirm delivery, until settled. Made on the first such write. */
  private ledger: DeliveryLedger | null = null;
  /** Poll answers the socket took, until the client acknowledges them. */
  private unacked: Frames = NO_FRAMES;
  /** Set after a 'buffered' write: hold further frames until the transport drains. */
  isBackpressured = false;
  /** Frames the `drop-oldest` policy dropped to make room: lost, and reported as such. */
  droppedMessages = 0;
  /** Messages accepted for the client (written, or queued for it). */
  messagesSent = 0;
  /** The sequence number the next accepted frame gets. */
  nextSeq = 1;
  /** The highest sequence number the client said it has (its session cookie). */
  private ackedSeq = 0;
  /**
   * In a cluster, where frames are made durable before they go out: frames through
   * `durableSeq` may go, later ones wait for the store. Null on one node.
   */
  private journal: SessionJournal | null = null;
  private durableSeq = Number.POSITIVE_INFINITY;

  constructor(
    private readonly owner: OutboxOwner,
    private readonly options: OutboxOptions,
  ) {}

  /** Frames waiting for a transport. */
  get queuedMessages(): number {
    return this.queue?.length ?? 0;
  }

  /** Sends refused (or fatal) because the queue was full. */
  get queueOverflows(): number {
    return this.queue?.overflows ?? 0;
  }

  /** Frames handed to transports and not yet confirmed. */
  get unsettledMessages(): number {
    return this.ledger?.unsettledFrames ?? 0;
  }

  /** Poll answers the socket took that the client has not acknowledged yet. */
  get unacknowledgedMessages(): number {
    return this.unacked.frames.length;
  }

  /** Accepts one frame: straight to the transport when nothing waits before it, else queued. */
  accept(frame: string, bytes: number, shared?: PreparedMessage): SendResult {
    const transport = this.owner.current;
    if (transport !== null && this.journal === null && this.isClear() && this.queuedMessages === 0) {
      const seq = this.nextSeq++;
      const result = this.write(transport, frame, { frames: [frame], seqs: [seq], bytes }, shared);
      if (result === 'written') return this.sent();
      if (result === 'buffered') {
        if (this.owner.current === transport) this.isBackpressured = true;
        return this.sent();
      }
      // 'closed': the transport is gone without having taken the frame; keep it, same seq.
      this.nextSeq--;
    }
    return this.enqueue(frame, bytes, shared);
  }

  /** Queues a frame whatever the transport's state (the streaming codec's goodbye). */
  enqueue(frame: string, bytes: number, shared?: PreparedMessage): SendResult {
    this.queue ??= new SendQueue(this.options);
    // Detached inside its reconnect window, a session is bounded by bytes alone: a busy
    // session keeps its whole window unless megabytes really pile up.
    const countsFrames = !this.owner.isDetached;
    if (this.queue.push(frame, bytes, this.nextSeq, countsFrames)) return this.accepted(frame, shared);
    const { queueOverflow, maxQueueMessages, maxQueueBytes } = this.options;
    this.owner.instruments.overflowed(FAMILY);
    if (queueOverflow === 'drop-oldest') {
      // Fresh data first: the oldest frames make room, and each one counts as lost.
      const dropped = this.queue.dropOldest(bytes, countsFrames);
      this.droppedMessages += dropped.length;
      this.owner.instruments.lost(FAMILY, 'dropped', dropped.length);
      this.journal?.drop(dropped);
      if (this.queue.push(frame, bytes, this.nextSeq, countsFrames)) return this.accepted(frame, shared);
    }
    const limits = `${maxQueueMessages} messages / ${maxQueueBytes} bytes`;
    // A frame larger than the whole byte budget cannot make room by dropping: refuse it.
    const policy = queueOverflow === 'drop-oldest' ? 'refuse' : queueOverflow;
    return overflow(policy, limits, (error) => this.owner.closeForOverflow(error));
  }

  /** Hands every queued frame to the attached transport as one payload, when it may take them. */
  flush(): void {
    const transport = this.owner.current;
    if (transport === null || !this.isClear() || this.queuedMessages === 0) return;
    this.writeQueued(transport, '');
  }

  /** A new transport opens the session: the handshake frame, then whatever is queued, in one write. */
  open(transport: Transport, handshake: string): void {
    this.writeQueued(transport, handshake);
  }

  /** Writes a frame that is no message (a heartbeat): straight to the transport, never queued. */
  writeControl(transport: Transport, payload: string): void {
    const result = this.write(transport, payload, NO_FRAMES);
    if (result === 'buffered' && this.owner.current === transport) this.isBackpressured = true;
  }

  /** A transport now carries the session: writes of every other one count as older. */
  attached(transport: Transport): void {
    this.ledger?.attached(transport);
    this.isBackpressured = false;
  }

  /**
   * The client says it has every frame up to `seq` (its session cookie), or, with no number,
   * everything it was sent (a poll came: the last answer arrived).
   */
  acknowledge(seq?: number): void {
    if (seq === undefined) {
      const last = this.unacked.seqs[this.unacked.seqs.length - 1];
      this.unacked = NO_FRAMES;
      if (last !== undefined) this.journal?.forget(last);
      return;
    }
    if (seq > this.ackedSeq) this.ackedSeq = seq;
    this.unacked = after(this.unacked, seq);
    // A session taken over from another node holds in its queue frames the browser may have.
    this.queue?.dropThrough(seq);
    this.journal?.forget(seq);
  }

  /**
   * The session is resumed after its transport was lost: whatever the client did not
   * acknowledge, and whatever no socket confirmed, goes out again first, in order. Returns
   * how many frames that is.
   */
  resend(ackedSeq?: number): number {
    if (ackedSeq !== undefined) this.acknowledge(ackedSeq);
    const unsettled = this.ledger?.takeAll() ?? NO_FRAMES;
    const again = concat(this.unacked, unsettled);
    this.unacked = NO_FRAMES;
    if (again.frames.length === 0) return 0;
    this.queue ??= new SendQueue(this.options);
    this.queue.unshift(again);
    return again.frames.length;
  }

  /**
   * The outcome of one write to a transport that `confirmsDelivery`, in write order.
   * 'flush': a write holding newer frames back was delivered; 'requeued': a write failed and
   * its frames (and every later unsettled frame of that transport) are queued again;
   * 'lost': it failed after the session closed, `lostFrames` says how many; null otherwise.
   */
  settle(transport: Transport, delivered: boolean, isClosed: boolean): 'flush' | 'requeued' | number | null {
    const ledger = this.ledger;
    if (ledger === null) return null;
    const oldest = delivered ? ledger.oldestOf(transport) : undefined;
    const outcome = ledger.settle(transport, delivered, this.owner.current);
    if (oldest !== undefined) this.delivered(transport, oldest);
    if (outcome === null || outcome === false) return null;
    if (outcome === true) return isClosed ? null : 'flush';
    if (isClosed) return outcome.frames.length;
    this.queue ??= new SendQueue(this.options);
    this.queue.unshift(outcome);
    return 'requeued';
  }

  /** The session is closing: what it still held is lost. Returns the count of queued frames. */
  drainOnClose(): number {
    const unsent = this.queue?.drain().frames.length ?? 0;
    if (unsent > 0) this.owner.instruments.lost(FAMILY, 'closed', unsent);
    return unsent;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  /** From now on frames wait for `journal` to make them durable before they go out. */
  useJournal(journal: SessionJournal): void {
    this.journal = journal;
    this.durableSeq = this.nextSeq - 1;
  }

  /** The store has frames through `seq`: they may go out now. */
  durableThrough(seq: number): void {
    if (seq <= this.durableSeq) return;
    this.durableSeq = seq;
    this.flush();
  }

  /**
   * A session taken over from another node: its frames not known to have reached the client
   * (durable already) wait in the queue, numbered as they were.
   */
  restore(frames: Frames, nextSeq: number): void {
    this.nextSeq = nextSeq;
    this.durableSeq = nextSeq - 1;
    if (frames.frames.length === 0) return;
    this.queue ??= new SendQueue(this.options);
    this.queue.unshift(frames);
  }

  /** Nothing holds new writes back: no backpressure, no older write still unsettled. */
  private isClear(): boolean {
    return !this.isBackpressured && (this.ledger === null || this.ledger.olderUnsettled === 0);
  }

  private writeQueued(transport: Transport, prefix: string): void {
    const queue = this.queue;
    const queued = queue === null || queue.length === 0 ? NO_FRAMES : queue.drainThrough(this.durableSeq);
    if (prefix === '' && queued.frames.length === 0) return;
    const result = this.write(transport, prefix + queued.frames.join(''), queued);
    if (result === 'closed') this.queue?.unshift(queued);
    else if (result === 'buffered' && this.owner.current === transport) this.isBackpressured = true;
  }

  /** Every write goes through here, so frames given to a confirming transport are tracked. */
  private write(transport: Transport, payload: string, frames: Frames, shared?: PreparedMessage): WriteResult {
    const lastSeq = frames.seqs[frames.seqs.length - 1] ?? 0;
    // Every write to a confirming transport is listed, even one with no frames (a heartbeat,
    // a handshake alone): the transport settles each write, in order.
    if (transport.confirmsDelivery !== true) return transport.write(payload, shared, lastSeq);
    // Listed before the write: a transport may settle synchronously.
    this.ledger ??= new DeliveryLedger();
    const entry = this.ledger.record(transport, frames);
    const result = transport.write(payload, shared, lastSeq);
    if (result === 'closed') this.ledger.withdraw(entry);
    return result;
  }

  /**
   * A write the socket took. A poll answer is kept until the client's next request
   * acknowledges it; over a websocket or a stream it is done (no acknowledgements there).
   */
  private delivered(transport: Transport, write: UnsettledWrite): void {
    if (!transport.persistent) return this.keepUnacknowledged(write);
    const last = write.seqs[write.seqs.length - 1];
    if (last !== undefined) this.journal?.forget(last);
  }

  private keepUnacknowledged(write: UnsettledWrite): void {
    // The client may have acknowledged it already (its next request came before the answer's
    // 'close'): only what is beyond its acknowledgement is kept.
    const kept = after(write, this.ackedSeq);
    if (kept.frames.length > 0) this.unacked = concat(this.unacked, kept);
  }

  /** A queued frame was accepted: numbered, and journaled in a cluster. */
  private accepted(frame: string, shared?: PreparedMessage): SendResult {
    this.journal?.accepted(frame, this.nextSeq, shared?.logPosition);
    this.nextSeq++;
    return this.sent();
  }

  /** A message accepted for the client: written, or queued for it. */
  private sent(): SendResult {
    this.messagesSent++;
    this.owner.instruments.sent(FAMILY, 1);
    return SENT;
  }
}

/** The frames numbered above `seq`. */
function after(frames: Frames, seq: number): Frames {
  let skipped = 0;
  while (skipped < frames.seqs.length && (frames.seqs[skipped] as number) <= seq) skipped++;
  if (skipped === 0) return frames;
  if (skipped === frames.seqs.length) return NO_FRAMES;
  const kept = frames.frames.slice(skipped);
  return { frames: kept, seqs: frames.seqs.slice(skipped), bytes: byteLengthOf(kept) };
}

/** Two runs of frames, the first older. */
function concat(first: Frames, second: Frames): Frames {
  if (first.frames.length === 0) return second;
  if (second.frames.length === 0) return first;
  return {
    frames: [...first.frames, ...second.frames],
    seqs: [...first.seqs, ...second.seqs],
    bytes: first.bytes + second.bytes,
  };
}

function byteLengthOf(frames: readonly string[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += Buffer.byteLength(frame, 'utf8');
  return bytes;
}
