import { CountingInstruments } from './counting-instruments.js';
import { sioCodec } from '../../src/codecs/sio.js';
import type { Conn, ConnHooks, ResumeInfo, SessionOptions } from '../../src/session/conn.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { TimerLists } from '../../src/hub/timer-lists.js';
import type { Transport, TransportName, WriteResult } from '../../src/session/transport.js';

/**
 * An in-memory Transport for unit tests of Conn: it records every payload written and can
 * play a backed-up socket ('buffered') or a gone one ('closed'). A non-persistent one ends
 * after one write and detaches itself, as a poll does.
 */
export class FakeTransport implements Transport {
  readonly payloads: string[] = [];
  isClosed = false;
  /** The peer is gone but the transport has not noticed yet: writes answer 'closed'. */
  isGone = false;
  closeCode: number | undefined;
  closeReason: string | undefined;
  /** What the next writes answer while open. */
  mode: 'written' | 'buffered' = 'written';

  constructor(
    private readonly conn: Conn,
    readonly persistent = true,
    readonly name: TransportName = persistent ? 'websocket' : 'xhr-polling',
  ) {}

  write(payload: string): WriteResult {
    if (this.isClosed || this.isGone) return 'closed';
    this.payloads.push(payload);
    if (!this.persistent) this.end();
    return this.mode;
  }

  close(code?: number, reason?: string): void {
    if (this.isClosed) return;
    this.closeCode = code;
    this.closeReason = reason;
    this.end();
  }

  /** The peer went away (socket closed, poll aborted). */
  end(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.conn.detach(this);
  }

  /** The socket can take more again. */
  drain(): void {
    this.mode = 'written';
    this.conn.onDrain(this);
  }
}

export const TEST_SESSION_OPTIONS: SessionOptions = {
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 500,
  reconnectWindowMs: 2_000,
  maxQueueMessages: 10,
  maxQueueBytes: 1_000,
  queueOverflow: 'close',
  maxFrameLength: 10_000,
  maxJsonDepth: 64,
  maxMessagesPerSecond: 0,
  maxSessionDataBytes: 16 * 1024,
  codec: sioCodec,
};

/** Hooks that record what a Conn reports. */
export class RecordingHooks implements ConnHooks {
  readonly timers = new TimerLists<Conn>();
  readonly instruments = new CountingInstruments();
  readonly opened: Conn[] = [];
  readonly messages: unknown[] = [];
  readonly closed: DisconnectInfo[] = [];
  readonly errors: Error[] = [];
  onOpen(conn: Conn): void {
    this.opened.push(conn);
  }
  readonly resumed: ResumeInfo[] = [];
  readonly handedOff: Conn[] = [];
  onHandOff(conn: Conn): void {
    this.handedOff.push(conn);
  }
  onResume(_conn: Conn, info: ResumeInfo): void {
    this.resumed.push(info);
  }
  onMessage(_conn: Conn, data: unknown): void {
    this.messages.push(data);
  }
  onClose(_conn: Conn, info: DisconnectInfo): void {
    this.closed.push(info);
  }
  onError(_conn: Conn, error: Error): void {
    this.errors.push(error);
  }
}
