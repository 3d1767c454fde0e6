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
import { SendQueue, type SendQueueLimits } from './send-queue.js';
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

/** Frames a poll answer carried, kept until the client acknowledges them. */
interface Unacknowledged {
  frames: string[];
  bytes: number;
  /** The seq of the last frame; the first is `lastSeq - frames.length + 1`. */
  lastSeq: number;
}

const SENT: SendResult = Object.freeze({ ok: true });
/** This family's name on the instrumentation seam. */
export const FAMILY = 'socketio06';

export class SessionOutbox {
  /** Made on first need: most websocket sessions never queue anything. */
  private queue: SendQueue | null = null;
  /** Writes to transports that confirm delivery, until settled. Made on the first such write. */
  private ledger: DeliveryLedger | null = null;
  private unacked: Unacknowledged | null = null;
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
    return this.unacked?.frames.length ?? 0;
  }

  /** Accepts one frame: straight to the transport when nothing waits before it, else queued. */
  accept(frame: string, bytes: number, shared?: PreparedMessage): SendResult {
    const transport = this.owner.current;
    if (transport !== null && this.isClear() && this.queuedMessages === 0) {
      const seq = this.nextSeq++;
      const result = this.write(transport, frame, [frame], bytes, seq, shared);
      if (result === 'written') return this.sent();
      if (result === 'buffered') {
        if (this.owner.current === transport) this.isBackpressured = true;
        return this.sent();
      }
      // 'closed': the transport is gone without having taken the frame; keep it, same seq.
      this.nextSeq--;
    }
    return this.enqueue(frame, bytes);
  }

  /** Queues a frame whatever the transport's state (the streaming codec's goodbye). */
  enqueue(frame: string, bytes: number): SendResult {
    this.queue ??= new SendQueue(this.options);
    // Detached inside its reconnect window, a session is bounded by bytes alone: a busy
    // session keeps its whole window unless megabytes really pile up.
    const countsFrames = !this.owner.isDetached;
    if (this.queue.push(frame, bytes, countsFrames)) return this.accepted();
    const { queueOverflow, maxQueueMessages, maxQueueBytes } = this.options;
    this.owner.instruments.overflowed(FAMILY);
    if (queueOverflow === 'drop-oldest') {
      // Fresh data first: the oldest frames make room, and each one counts as lost.
      const dropped = this.queue.dropOldest(bytes, countsFrames);
      this.droppedMessages += dropped;
      this.owner.instruments.lost(FAMILY, 'dropped', dropped);
      if (this.queue.push(frame, bytes, countsFrames)) return this.accepted();
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
    const result = this.write(transport, payload, [], 0, 0);
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
    if (seq !== undefined && seq > this.ackedSeq) this.ackedSeq = seq;
    const unacked = this.unacked;
    if (unacked === null) return;
    const firstSeq = unacked.lastSeq - unacked.frames.length + 1;
    if (seq === undefined || seq >= unacked.lastSeq) {
      this.unacked = null;
    } else if (seq >= firstSeq) {
      const kept = unacked.frames.slice(seq - firstSeq + 1);
      this.unacked = { frames: kept, bytes: byteLengthOf(kept), lastSeq: unacked.lastSeq };
    }
  }

  /**
   * The session is resumed after its transport was lost: whatever the client did not
   * acknowledge, and whatever no socket confirmed, goes out again first, in order. Returns
   * how many frames that is.
   */
  resend(ackedSeq?: number): number {
    this.acknowledge(ackedSeq ?? 0);
    const unacked = this.unacked ?? { frames: [], bytes: 0, lastSeq: 0 };
    this.unacked = null;
    const unsettled = this.ledger?.takeAll() ?? { frames: [], bytes: 0 };
    const frames = [...unacked.frames, ...unsettled.frames];
    if (frames.length === 0) return 0;
    this.queue ??= new SendQueue(this.options);
    this.queue.unshift(frames, unacked.bytes + unsettled.bytes);
    return frames.length;
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
    if (oldest !== undefined && !transport.persistent) this.keepUnacknowledged(oldest);
    if (outcome === null || outcome === false) return null;
    if (outcome === true) return isClosed ? null : 'flush';
    const { frames, bytes } = outcome;
    if (isClosed) return frames.length;
    this.queue ??= new SendQueue(this.options);
    this.queue.unshift(frames, bytes);
    return 'requeued';
  }

  /** The session is closing: what it still held is lost. Returns the count of queued frames. */
  drainOnClose(): number {
    const unsent = this.queue?.drain().frames.length ?? 0;
    if (unsent > 0) this.owner.instruments.lost(FAMILY, 'closed', unsent);
    return unsent;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  /** Nothing holds new writes back: no backpressure, no older write still unsettled. */
  private isClear(): boolean {
    return !this.isBackpressured && (this.ledger === null || this.ledger.olderUnsettled === 0);
  }

  private writeQueued(transport: Transport, prefix: string): void {
    const queued = this.queue !== null && this.queue.length > 0 ? this.queue.drain() : { frames: [], bytes: 0 };
    const lastSeq = queued.frames.length > 0 ? this.nextSeq - 1 : 0;
    const result = this.write(transport, prefix + queued.frames.join(''), queued.frames, queued.bytes, lastSeq);
    if (result === 'closed' && queued.frames.length > 0) this.queue?.unshift(queued.frames, queued.bytes);
    else if (result === 'buffered' && this.owner.current === transport) this.isBackpressured = true;
  }

  /** Every write goes through here, so frames given to a confirming transport are tracked. */
  private write(
    transport: Transport,
    payload: string,
    frames: readonly string[],
    bytes: number,
    lastSeq: number,
    shared?: PreparedMessage,
  ): WriteResult {
    // Every write to a confirming transport is listed, even one with no frames (a heartbeat,
    // a handshake alone): the transport settles each write, in order.
    if (transport.confirmsDelivery !== true) return transport.write(payload, shared, lastSeq);
    // Listed before the write: a transport may settle synchronously.
    this.ledger ??= new DeliveryLedger();
    const entry = this.ledger.record(transport, frames, bytes, lastSeq);
    const result = transport.write(payload, shared, lastSeq);
    if (result === 'closed') this.ledger.withdraw(entry);
    return result;
  }

  /** A poll answer the socket took: kept until the client's next request acknowledges it. */
  private keepUnacknowledged(write: UnsettledWrite): void {
    // The client may have acknowledged it already (its next request came before the answer's
    // 'close'): only what is beyond its acknowledgement is kept.
    const firstSeq = write.lastSeq - write.frames.length + 1;
    const skipped = Math.max(0, Math.min(write.frames.length, this.ackedSeq - firstSeq + 1));
    if (skipped === write.frames.length) return;
    const frames = skipped === 0 ? write.frames : write.frames.slice(skipped);
    write = { ...write, frames, bytes: skipped === 0 ? write.bytes : byteLengthOf(frames) };
    const previous = this.unacked;
    // Answers are settled in order, so a later one continues the earlier one's numbers.
    this.unacked =
      previous === null
        ? { frames: [...write.frames], bytes: write.bytes, lastSeq: write.lastSeq }
        : {
            frames: [...previous.frames, ...write.frames],
            bytes: previous.bytes + write.bytes,
            lastSeq: write.lastSeq,
          };
  }

  /** A queued frame was accepted. */
  private accepted(): SendResult {
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

function byteLengthOf(frames: readonly string[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += Buffer.byteLength(frame, 'utf8');
  return bytes;
}
