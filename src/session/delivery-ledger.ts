/**
 * The delivery ledger of one 0.6 session: every write to a transport that confirms delivery
 * (websocket, hixie, the streams) is listed until the transport settles it, in write order.
 * A write that fails means the transport is dead: its frames, and every later unsettled
 * frame of that transport, come back to the session to be queued again in order, so a frame
 * is sent again only when it never reached the socket. While unsettled writes of an earlier
 * transport remain, newer sends must wait ({@link olderUnsettled}): if one of those writes
 * fails, its frames go out before anything newer.
 */
import type { Frames } from './send-queue.js';
import type { Transport } from './transport.js';

/** Frames written to a transport that confirms delivery, not yet confirmed. */
export interface UnsettledWrite extends Frames {
  readonly transport: Transport;
}

/** The list of every ledger with nothing unsettled (frozen: never pushed to). */
const NO_WRITES: UnsettledWrite[] = Object.freeze([]) as unknown as UnsettledWrite[];

export class DeliveryLedger {
  /** Oldest first. NO_WRITES while empty: an idle session keeps no array of its own. */
  private writes: UnsettledWrite[] = NO_WRITES;
  /** Unsettled writes (with frames) of transports other than the current one. */
  olderUnsettled = 0;

  /** Frames handed to transports and not yet confirmed. */
  get unsettledFrames(): number {
    return this.writes.reduce((sum, write) => sum + write.frames.length, 0);
  }

  /** A new transport carries the session: writes of every other one count as older. */
  attached(transport: Transport): void {
    this.olderUnsettled = this.writes.filter((write) => write.transport !== transport && carriesFrames(write)).length;
  }

  /** Lists a write before it is made (a transport may settle synchronously). */
  record(transport: Transport, frames: Frames): UnsettledWrite {
    const entry: UnsettledWrite = { transport, frames: frames.frames, seqs: frames.seqs, bytes: frames.bytes };
    if (this.writes === NO_WRITES) this.writes = [entry];
    else this.writes.push(entry);
    return entry;
  }

  /** The oldest unsettled write of `transport`: the one its next settlement is about. */
  oldestOf(transport: Transport): UnsettledWrite | undefined {
    return this.writes.find((write) => write.transport === transport);
  }

  /**
   * Takes every unsettled write out (a session resumed after its transport was lost: what no
   * socket confirmed goes out again). Their transports' settlements are ignored from now on.
   */
  takeAll(): Frames {
    const taken = this.writes;
    this.writes = NO_WRITES;
    this.olderUnsettled = 0;
    return joined(taken);
  }

  /** The write of `entry` handed nothing over after all ('closed'). */
  withdraw(entry: UnsettledWrite): void {
    const index = this.writes.lastIndexOf(entry);
    if (index !== -1) this.writes.splice(index, 1);
  }

  /**
   * The outcome of `transport`'s oldest unsettled write. Delivered: true when it was the
   * last older write holding newer sends back. Not delivered: every unsettled write of the
   * transport is dropped from the ledger and its frames handed back; null when the
   * transport has nothing listed.
   */
  settle(transport: Transport, delivered: boolean, current: Transport | null): Frames | boolean | null {
    const index = this.writes.findIndex((write) => write.transport === transport);
    if (index === -1) return null;
    if (delivered) {
      const [write] = this.writes.splice(index, 1);
      // An emptied array keeps its backing store (and is an array): an idle session need not.
      if (this.writes.length === 0) this.writes = NO_WRITES;
      if (transport === current || write === undefined || !carriesFrames(write)) return false;
      return this.settledOlder();
    }
    const failed = this.writes.filter((write) => write.transport === transport);
    if (transport !== current) {
      this.olderUnsettled = Math.max(0, this.olderUnsettled - failed.filter(carriesFrames).length);
    }
    this.writes = this.writes.filter((write) => write.transport !== transport);
    if (this.writes.length === 0) this.writes = NO_WRITES;
    return joined(failed);
  }

  /** One older write settled as delivered; true once none is left. */
  private settledOlder(): boolean {
    if (this.olderUnsettled === 0) return false;
    this.olderUnsettled = Math.max(0, this.olderUnsettled - 1);
    return this.olderUnsettled === 0;
  }
}

/** The frames of several writes, in order. */
function joined(writes: readonly UnsettledWrite[]): Frames {
  return {
    frames: writes.flatMap((write) => write.frames),
    seqs: writes.flatMap((write) => write.seqs),
    bytes: writes.reduce((sum, write) => sum + write.bytes, 0),
  };
}

/** A heartbeat or a lone handshake has nothing to re-queue, so nothing newer need wait for it. */
function carriesFrames(write: UnsettledWrite): boolean {
  return write.frames.length > 0;
}
