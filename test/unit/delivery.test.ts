/**
 * Delivery settlement in the session layer, driven through an in-memory transport that
 * confirms (or fails) each write on demand: re-queue order, no duplicates, the transport
 * counted as gone after a failure, and the counts reported at close.
 */
import { NO_INSTRUMENTS } from '../../src/hub/instruments.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sioCodec } from '../../src/codecs/sio.js';
import type { RealtimeError } from '../../src/errors.js';
import { Conn, type SessionOptions } from '../../src/session/conn.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { TimerLists } from '../../src/hub/timer-lists.js';
import type { Transport, WriteResult } from '../../src/session/transport.js';

const OPTIONS: SessionOptions = {
  heartbeatIntervalMs: 0,
  heartbeatTimeoutMs: 0,
  reconnectWindowMs: 60_000,
  queueOverflow: 'close',
  maxQueueMessages: 100,
  maxQueueBytes: 100_000,
  maxFrameLength: 1_000,
  maxJsonDepth: 64,
  maxMessagesPerSecond: 0,
  maxSessionDataBytes: 16 * 1024,
  codec: sioCodec,
};

/** Records payloads; `settleNext(ok)` settles the oldest unsettled write. */
class FakeTransport implements Transport {
  readonly name = 'websocket';
  readonly persistent = true;
  readonly confirmsDelivery = true;
  readonly payloads: string[] = [];
  private pending = 0;
  constructor(private readonly conn: () => Conn) {}
  write(payload: string): WriteResult {
    this.payloads.push(payload);
    this.pending++;
    return 'written';
  }
  close(): void {}
  settleNext(delivered: boolean): void {
    this.pending--;
    this.conn().settle(this, delivered);
  }
  settleAll(delivered: boolean): void {
    while (this.pending > 0) this.settleNext(delivered);
  }
}

function makeConn(options: SessionOptions = OPTIONS) {
  const closes: DisconnectInfo[] = [];
  const errors: RealtimeError[] = [];
  const conn: Conn = new Conn('AAAAAAAAAAAAAAAA', 'websocket', '127.0.0.1', options, {
    timers: new TimerLists<Conn>(),
    instruments: NO_INSTRUMENTS,
    onResume: () => undefined,
    onHandOff: () => undefined,
    onOpen: () => undefined,
    onMessage: () => undefined,
    onClose: (_conn, info) => closes.push(info),
    onError: (_conn, error) => errors.push(error),
  });
  return { conn, closes, errors };
}

const frames = (payloads: readonly string[]) => payloads.join('');

describe('delivery settlement', () => {
  it('re-queues the frames a dying transport never took, in order, ahead of later sends', () => {
    const { conn } = makeConn();
    const first = new FakeTransport(() => conn);
    conn.attach(first);
    first.settleAll(true); // handshake
    for (const text of ['a', 'b', 'c']) conn.send(text);
    first.settleNext(true); // 'a' reached the socket
    first.settleNext(false); // 'b' did not: 'b' and 'c' come back, the transport is gone
    expect(conn.state).toBe('detached');
    conn.send('d');
    expect(first.payloads).toHaveLength(4); // nothing more went to the dead transport
    first.settleNext(false); // the late failure of 'c' is already accounted for
    const second = new FakeTransport(() => conn);
    conn.attach(second);
    expect(frames(second.payloads)).toBe('~m~1~m~b~m~1~m~c~m~1~m~d');
  });

  it.each([true, false])(
    'holds sends for a new transport until the old one settled (old delivered: %s), keeping order',
    (delivered) => {
      const { conn } = makeConn();
      const old = new FakeTransport(() => conn);
      conn.attach(old);
      old.settleAll(true);
      conn.send('a');
      conn.send('b');
      const next = new FakeTransport(() => conn);
      conn.attach(next); // 'a' and 'b' are still unconfirmed on the old socket
      conn.send('c');
      expect(next.payloads).toEqual([]);
      old.settleAll(delivered);
      expect(frames(next.payloads)).toBe(delivered ? '~m~1~m~c' : '~m~1~m~a~m~1~m~b~m~1~m~c');
    },
  );

  it('never sends twice what the socket confirmed', () => {
    const { conn } = makeConn();
    const first = new FakeTransport(() => conn);
    conn.attach(first);
    conn.send('x');
    first.settleAll(true);
    conn.detach(first);
    const second = new FakeTransport(() => conn);
    conn.attach(second);
    expect(second.payloads).toEqual([]);
  });

  it('reports unconfirmed frames at close, and their later failure as ERR_DELIVERY_FAILED', () => {
    const { conn, closes, errors } = makeConn();
    const transport = new FakeTransport(() => conn);
    conn.attach(transport);
    transport.settleAll(true);
    conn.send('1');
    conn.send('2');
    conn.close();
    expect(closes[0]).toMatchObject({ reason: 'server', lostMessages: 0, unsettledMessages: 2 });
    transport.settleAll(false);
    expect(errors.map((error) => error.code)).toEqual(['ERR_DELIVERY_FAILED']);
    expect(errors[0]!.message).toMatch(/^2 frames/);
  });

  it('counts queued frames as lost when the window closes the session', () => {
    const { conn, closes } = makeConn();
    const transport = new FakeTransport(() => conn);
    conn.attach(transport);
    transport.settleAll(true);
    conn.detach(transport);
    conn.send('q1');
    conn.send('q2');
    conn.close('window-expired');
    expect(closes[0]).toMatchObject({ reason: 'window-expired', lostMessages: 2 });
    expect(closes[0]!.unsettledMessages).toBeUndefined();
  });

  describe('with heartbeats', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("a heartbeat's settlement is its own: the frame after it is still re-queued when the socket dies", () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const { conn } = makeConn({ ...OPTIONS, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1_000 });
      const first = new FakeTransport(() => conn);
      conn.attach(first);
      first.settleAll(true); // handshake
      conn.send('a');
      vi.advanceTimersByTime(100); // a heartbeat goes out between 'a' and 'b'
      conn.send('b');
      expect(first.payloads.slice(1)).toEqual(['~m~1~m~a', '~m~4~m~~h~1', '~m~1~m~b']);
      first.settleNext(true); // 'a'
      first.settleNext(true); // the heartbeat
      first.settleNext(false); // 'b' never reached the socket
      const second = new FakeTransport(() => conn);
      conn.attach(second);
      expect(frames(second.payloads)).toBe('~m~1~m~b');
    });

    it('a handshake written alone settles as itself, not as the first message', () => {
      const { conn } = makeConn();
      const first = new FakeTransport(() => conn);
      conn.attach(first); // handshake, unsettled
      conn.send('a');
      first.settleNext(true); // the handshake
      first.settleNext(false); // 'a' failed
      const second = new FakeTransport(() => conn);
      conn.attach(second);
      expect(frames(second.payloads)).toBe('~m~1~m~a');
    });
  });
});
