import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { streamingCodec } from '../../src/codecs/streaming.js';
import { Conn, type SessionOptions } from '../../src/session/conn.js';
import { TimerList } from '../../src/hub/timer-lists.js';
import type { PollDeadline } from '../../src/transports/module.js';
import { PollTransport } from '../../src/transports/xhr-polling.js';
import { FakeTransport, RecordingHooks, TEST_SESSION_OPTIONS } from '../helpers/fake-transport.js';
import { MemoryResponse } from '../helpers/memory-response.js';

const SESSION_ID = 'Ab3dE5gH7jK9mN1p';
const HANDSHAKE = encodeFrame(SESSION_ID);

function makeConn(overrides: Partial<SessionOptions> = {}): { conn: Conn; hooks: RecordingHooks } {
  const hooks = new RecordingHooks();
  const conn = new Conn(SESSION_ID, 'websocket', '127.0.0.1', { ...TEST_SESSION_OPTIONS, ...overrides }, hooks);
  return { conn, hooks };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A resource's poll deadlines at the default pollDurationMs (made after the timers are faked). */
function pollDeadlines(): TimerList<PollDeadline> {
  return new TimerList<PollDeadline>(20_000, (poll) => poll.expire());
}

describe('Conn: opening and sending', () => {
  it('sends the session id as the first frame and opens once', () => {
    const { conn, hooks } = makeConn();
    expect(conn.state).toBe('connecting');
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    expect(transport.payloads).toEqual([HANDSHAKE]);
    expect(conn.state).toBe('open');
    expect(hooks.opened).toEqual([conn]);
    expect(conn.sessionId).toBe(SESSION_ID);
    expect(conn.transport).toBe('websocket');
    expect(conn.remoteAddress).toBe('127.0.0.1');
  });

  it('sends a string as text and anything else as ~j~ JSON', () => {
    const { conn } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    for (const value of ['hi', 'a~m~b', '', { a: 1 }, [1, 2], 5, true, null, undefined]) {
      expect(conn.send(value)).toEqual({ ok: true });
    }
    expect(transport.payloads.slice(1)).toEqual([
      '~m~2~m~hi',
      '~m~5~m~a~m~b',
      '~m~0~m~',
      '~m~10~m~~j~{"a":1}',
      '~m~8~m~~j~[1,2]',
      '~m~4~m~~j~5',
      '~m~7~m~~j~true',
      '~m~7~m~~j~null',
      '~m~7~m~~j~null',
    ]);
  });

  it('refuses a value with no JSON form without closing the session', () => {
    const { conn } = makeConn();
    conn.attach(new FakeTransport(conn));
    const result = conn.send({ big: 1n });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('ERR_INVALID_MESSAGE');
    expect(conn.state).toBe('open');
  });

  it('queues what is sent before the first transport and sends it behind the handshake', () => {
    const { conn } = makeConn();
    conn.send('early');
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    expect(transport.payloads).toEqual([HANDSHAKE + '~m~5~m~early']);
  });
});

describe('Conn: receiving', () => {
  it('handles every frame of a payload, including those batched behind a heartbeat echo', () => {
    const { conn, hooks } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    vi.advanceTimersByTime(1_000);
    expect(transport.payloads.at(-1)).toBe('~m~4~m~~h~1');
    expect(conn.receive('~m~4~m~~h~1~m~5~m~hello~m~10~m~~j~{"a":1}')).toBeNull();
    expect(hooks.messages).toEqual(['hello', { a: 1 }]);
    // The echo counted: no close at the deadline, and the next heartbeat comes on time.
    vi.advanceTimersByTime(999);
    expect(conn.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(transport.payloads.at(-1)).toBe('~m~4~m~~h~2');
  });

  it('delivers ~j~ followed by bad JSON as the text it was', () => {
    const { conn, hooks } = makeConn();
    conn.attach(new FakeTransport(conn));
    conn.receive(encodeFrame('~j~not json'));
    expect(hooks.messages).toEqual(['~j~not json']);
  });

  it('refuses a malformed payload whole and reports it', () => {
    const { conn, hooks } = makeConn();
    conn.attach(new FakeTransport(conn));
    const error = conn.receive('~m~5~m~hello~m~9~m~short');
    expect(error?.code).toBe('ERR_MALFORMED_FRAME');
    expect(hooks.messages).toEqual([]);
    expect(hooks.errors).toEqual([error]);
  });

  it('refuses a frame over maxFrameLength', () => {
    const { conn } = makeConn({ maxFrameLength: 4 });
    conn.attach(new FakeTransport(conn));
    expect(conn.receive(encodeFrame('hello'))?.code).toBe('ERR_TOO_LARGE');
  });

  it('stops at a message handler that closed the session', () => {
    const { conn, hooks } = makeConn();
    conn.attach(new FakeTransport(conn));
    hooks.onMessage = (_conn, data) => {
      hooks.messages.push(data);
      conn.close();
    };
    conn.receive(encodeFrame('one') + encodeFrame('two'));
    expect(hooks.messages).toEqual(['one']);
    expect(conn.receive(encodeFrame('three'))?.code).toBe('ERR_CLOSED');
  });

  it('closes on the streaming codec disconnect message', () => {
    const { conn, hooks } = makeConn({ codec: streamingCodec });
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    expect(transport.payloads).toEqual([`3:16:${SESSION_ID},`]);
    conn.receive('1:3::hi,0:0:,');
    expect(hooks.messages).toEqual(['hi']);
    expect(hooks.closed).toEqual([{ reason: 'client', lostMessages: 0 }]);
  });
});

describe('Conn: heartbeats', () => {
  it('sends ~h~<n> every heartbeatIntervalMs after each echo', () => {
    const { conn } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    vi.advanceTimersByTime(999);
    expect(transport.payloads).toEqual([HANDSHAKE]);
    vi.advanceTimersByTime(1);
    for (let n = 1; n <= 3; n++) {
      if (n > 1) vi.advanceTimersByTime(1_000);
      expect(transport.payloads.at(-1)).toBe(encodeFrame(`~h~${n}`));
      vi.advanceTimersByTime(100);
      conn.receive(encodeFrame(`~h~${n}`));
    }
    expect(conn.state).toBe('open');
  });

  it('closes when a heartbeat goes unanswered for heartbeatTimeoutMs', () => {
    const { conn, hooks } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    vi.advanceTimersByTime(1_000);
    expect(transport.payloads.at(-1)).toBe('~m~4~m~~h~1');
    vi.advanceTimersByTime(499);
    expect(conn.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(conn.state).toBe('closed');
    expect(hooks.closed).toHaveLength(1);
    expect(hooks.closed[0]?.reason).toBe('heartbeat-timeout');
    expect(hooks.closed[0]?.error?.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(transport.closeCode).toBe(1001);
  });

  it('does not count an echo of another number', () => {
    const { conn, hooks } = makeConn();
    conn.attach(new FakeTransport(conn));
    vi.advanceTimersByTime(1_000);
    conn.receive(encodeFrame('~h~7'));
    vi.advanceTimersByTime(500);
    expect(hooks.closed[0]?.reason).toBe('heartbeat-timeout');
  });

  it('sends none on a polling transport, and none while detached', () => {
    const { conn, hooks } = makeConn({ reconnectWindowMs: 60_000 });
    const poll = new FakeTransport(conn, false);
    conn.attach(poll);
    expect(conn.state).toBe('detached');
    conn.attach(new FakeTransport(conn, false));
    vi.advanceTimersByTime(30_000);
    expect(conn.queuedMessages).toBe(0);
    expect(hooks.closed).toEqual([]);
  });

  it('sends none when heartbeatIntervalMs is 0', () => {
    const { conn, hooks } = makeConn({ heartbeatIntervalMs: 0 });
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    vi.advanceTimersByTime(60_000);
    expect(transport.payloads).toEqual([HANDSHAKE]);
    expect(hooks.closed).toEqual([]);
  });
});

describe('Conn: reconnect window', () => {
  it('queues while detached and delivers the queue in order as one payload on re-attach', () => {
    const { conn, hooks } = makeConn();
    const first = new FakeTransport(conn);
    conn.attach(first);
    first.end();
    expect(conn.state).toBe('detached');
    conn.send('one');
    conn.send({ two: 2 });
    conn.send('three');
    expect(conn.queuedMessages).toBe(3);
    vi.advanceTimersByTime(1_999);
    const second = new FakeTransport(conn);
    conn.attach(second);
    expect(conn.state).toBe('open');
    expect(second.payloads).toEqual([encodeFrame('one') + encodeFrame('~j~{"two":2}') + encodeFrame('three')]);
    expect(hooks.opened).toHaveLength(1);
    vi.advanceTimersByTime(10_000);
    expect(hooks.closed.map((info) => info.reason)).toEqual(['heartbeat-timeout']);
  });

  it('closes exactly once when no transport comes back within reconnectWindowMs', () => {
    const { conn, hooks } = makeConn();
    const disconnects: unknown[] = [];
    conn.on('disconnect', (info) => disconnects.push(info));
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    transport.end();
    conn.send('lost');
    vi.advanceTimersByTime(1_999);
    expect(conn.state).toBe('detached');
    vi.advanceTimersByTime(1);
    expect(conn.state).toBe('closed');
    expect(hooks.closed).toEqual([{ reason: 'window-expired', lostMessages: 1 }]);
    expect(disconnects).toEqual(hooks.closed);
    conn.close();
    vi.advanceTimersByTime(10_000);
    expect(hooks.closed).toHaveLength(1);
    const late = new FakeTransport(conn);
    conn.attach(late);
    expect(late.isClosed).toBe(true);
    expect(late.payloads).toEqual([]);
    const result = conn.send('after');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('ERR_CLOSED');
  });

  it('starts the window afresh at each detach', () => {
    const { conn, hooks } = makeConn({ heartbeatIntervalMs: 0 });
    const first = new FakeTransport(conn);
    conn.attach(first);
    first.end();
    vi.advanceTimersByTime(1_500);
    const second = new FakeTransport(conn);
    conn.attach(second);
    vi.advanceTimersByTime(5_000);
    second.end();
    vi.advanceTimersByTime(1_999);
    expect(conn.state).toBe('detached');
    vi.advanceTimersByTime(1);
    expect(hooks.closed.map((info) => info.reason)).toEqual(['window-expired']);
  });

  it('ends a superseded transport when a newer one attaches', () => {
    const { conn, hooks } = makeConn();
    const first = new FakeTransport(conn);
    conn.attach(first);
    const second = new FakeTransport(conn);
    conn.attach(second);
    expect(first.isClosed).toBe(true);
    expect(first.closeReason).toBe('superseded');
    expect(conn.state).toBe('open');
    conn.send('x');
    expect(second.payloads).toEqual(['~m~1~m~x']);
    expect(hooks.closed).toEqual([]);
  });
});

describe('Conn: polling', () => {
  it('answers the first poll with the handshake alone, then queues until the next poll', () => {
    const { conn, hooks } = makeConn();
    hooks.onOpen = (opened) => {
      hooks.opened.push(opened);
      opened.send('welcome');
    };
    const first = new FakeTransport(conn, false);
    conn.attach(first);
    expect(first.payloads).toEqual([HANDSHAKE]);
    expect(conn.state).toBe('detached');
    conn.send('second');
    const poll = new FakeTransport(conn, false);
    conn.attach(poll);
    expect(poll.payloads).toEqual(['~m~7~m~welcome~m~6~m~second']);
    const held = new FakeTransport(conn, false);
    conn.attach(held);
    expect(held.payloads).toEqual([]);
    expect(conn.state).toBe('open');
    conn.send('now');
    expect(held.payloads).toEqual(['~m~3~m~now']);
    expect(conn.state).toBe('detached');
  });

  it('answers a held poll empty at pollDurationMs, then expires after the window', () => {
    const { conn, hooks } = makeConn();
    const first = new MemoryResponse();
    conn.attach(new PollTransport('xhr-polling', first.res, conn, [], (p) => p, pollDeadlines()));
    expect(first.body).toBe(HANDSHAKE);
    const held = new MemoryResponse();
    conn.attach(new PollTransport('xhr-polling', held.res, conn, [], (p) => p, pollDeadlines()));
    vi.advanceTimersByTime(19_999);
    expect(held.body).toBeUndefined();
    expect(conn.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(held.status).toBe(200);
    expect(held.body).toBe('');
    expect(conn.state).toBe('detached');
    vi.advanceTimersByTime(2_000);
    expect(hooks.closed.map((info) => info.reason)).toEqual(['window-expired']);
  });

  it('detaches a poll whose client went away before the poll was attached', async () => {
    const { conn, hooks } = makeConn();
    conn.attach(new PollTransport('xhr-polling', new MemoryResponse().res, conn, [], (p) => p, pollDeadlines()));
    const gone = new MemoryResponse();
    gone.abort();
    await new Promise((resolve) => setImmediate(resolve)); // the response hears of it
    expect(gone.res.destroyed).toBe(true);
    conn.attach(new PollTransport('xhr-polling', gone.res, conn, [], (p) => p, pollDeadlines()));
    conn.send('kept');
    expect(conn.state).toBe('detached');
    expect(conn.queuedMessages).toBe(1);
    vi.advanceTimersByTime(2_000);
    expect(hooks.closed).toEqual([{ reason: 'window-expired', lostMessages: 1 }]);
  });
});

describe('Conn: send queue and backpressure', () => {
  it('holds sends while the transport is backed up and flushes them as one payload on drain', () => {
    const { conn } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    transport.mode = 'buffered';
    conn.send('a');
    conn.send('b');
    conn.send('c');
    expect(transport.payloads).toEqual([HANDSHAKE, '~m~1~m~a']);
    expect(conn.queuedMessages).toBe(2);
    transport.drain();
    expect(transport.payloads).toEqual([HANDSHAKE, '~m~1~m~a', '~m~1~m~b~m~1~m~c']);
    expect(conn.queuedMessages).toBe(0);
  });

  it("refuses with ERR_QUEUE_FULL under 'refuse', counts it, and keeps the session", () => {
    // Detached, only the byte bound applies: two 8-byte frames fit in 18 bytes, a third does not.
    const { conn, hooks } = makeConn({ queueOverflow: 'refuse', maxQueueMessages: 1, maxQueueBytes: 18 });
    const first = new FakeTransport(conn);
    conn.attach(first);
    first.end();
    expect(conn.send('1').ok).toBe(true);
    expect(conn.send('2').ok).toBe(true);
    const refused = conn.send('3');
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.code).toBe('ERR_QUEUE_FULL');
    expect(conn.queueOverflows).toBe(1);
    expect(conn.state).toBe('detached');
    const next = new FakeTransport(conn);
    conn.attach(next);
    expect(next.payloads).toEqual(['~m~1~m~1~m~1~m~2']);
    expect(hooks.closed).toEqual([]);
  });

  it('bounds an attached, backed-up session by its frame count as well', () => {
    const { conn } = makeConn({ queueOverflow: 'refuse', maxQueueMessages: 2 });
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    transport.mode = 'buffered';
    conn.send('first'); // written, the socket is now backed up
    expect(conn.send('1').ok).toBe(true);
    expect(conn.send('2').ok).toBe(true);
    const refused = conn.send('3');
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.code).toBe('ERR_QUEUE_FULL');
  });

  it("closes as a slow consumer under 'close', reporting the frames lost", () => {
    const { conn, hooks } = makeConn({ maxQueueBytes: 20 });
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    transport.mode = 'buffered';
    conn.send('first'); // written, the socket is now backed up
    expect(conn.send('0123456789').ok).toBe(true);
    const result = conn.send('0123456789');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('ERR_QUEUE_OVERFLOW');
    expect(conn.state).toBe('closed');
    expect(hooks.closed).toHaveLength(1);
    expect(hooks.closed[0]).toMatchObject({ reason: 'queue-overflow', lostMessages: 1 });
    expect(transport.closeCode).toBe(1013);
    expect(conn.queueOverflows).toBe(1);
  });

  it('close() on a detached session reports the queued frames as lost', () => {
    const { conn, hooks } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    transport.end();
    conn.send('a');
    conn.send('b');
    conn.close();
    expect(hooks.closed).toEqual([{ reason: 'server', lostMessages: 2 }]);
  });

  it('close() ends the attached transport with 1000, and shutdown with 1001', () => {
    const { conn, hooks } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    conn.close();
    expect(transport.closeCode).toBe(1000);
    expect(hooks.closed).toEqual([{ reason: 'server', lostMessages: 0 }]);
    const other = makeConn();
    const second = new FakeTransport(other.conn);
    other.conn.attach(second);
    other.conn.close('shutdown');
    expect(second.closeCode).toBe(1001);
  });

  it('writes heartbeats past a backed-up queue, and closes a peer that reads nothing', () => {
    const { conn, hooks } = makeConn();
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    transport.mode = 'buffered';
    conn.send('a');
    conn.send('queued');
    vi.advanceTimersByTime(1_000);
    expect(transport.payloads.at(-1)).toBe('~m~4~m~~h~1');
    expect(conn.queuedMessages).toBe(1);
    vi.advanceTimersByTime(500);
    expect(hooks.closed).toEqual([expect.objectContaining({ reason: 'heartbeat-timeout', lostMessages: 1 })]);
  });
});
