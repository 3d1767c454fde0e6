/**
 * Acknowledgements of a 0.6 session (session/outbox.ts): a poll answer the socket took is
 * kept until the client's next request acknowledges it — up to the sequence number its
 * session cookie names, or whole when a poll comes without one — and a session resumed
 * after its transport was lost sends again, in order, whatever the client did not
 * acknowledge and whatever no socket confirmed.
 */
import { describe, expect, it } from 'vitest';
import { decode, encodeFrame } from '../../src/codecs/sio.js';
import { Conn } from '../../src/session/conn.js';
import type { Transport, WriteResult } from '../../src/session/transport.js';
import { RecordingHooks, TEST_SESSION_OPTIONS } from '../helpers/fake-transport.js';

const SESSION_ID = 'Ab3dE5gH7jK9mN1p';

/** A poll that confirms delivery: settled (delivered, or not) as soon as it is written. */
class ConfirmingPoll implements Transport {
  readonly name = 'xhr-polling';
  readonly persistent = false;
  readonly confirmsDelivery = true;
  payload: string | undefined;
  lastSeq: number | undefined;
  constructor(
    private readonly conn: Conn,
    private readonly delivers = true,
  ) {}
  write(payload: string, _shared?: unknown, lastSeq?: number): WriteResult {
    this.payload = payload;
    this.lastSeq = lastSeq;
    this.conn.detach(this, !this.delivers);
    this.conn.settle(this, this.delivers);
    return 'written';
  }
  close(): void {
    this.conn.detach(this, false);
  }
  texts(): string[] {
    const decoded = decode(this.payload ?? '');
    if (!decoded.ok) throw decoded.error;
    return decoded.value.filter((m) => m.type === 'text').map((m) => m.data);
  }
}

function openSession(): Conn {
  const conn = new Conn(SESSION_ID, 'xhr-polling', '127.0.0.1', TEST_SESSION_OPTIONS, new RecordingHooks());
  conn.attach(new ConfirmingPoll(conn));
  return conn;
}

function poll(conn: Conn, ackedSeq?: number, delivers = true): ConfirmingPoll {
  conn.acknowledge(ackedSeq);
  const transport = new ConfirmingPoll(conn, delivers);
  conn.attach(transport);
  return transport;
}

describe('session acknowledgements', () => {
  it('numbers message frames from 1 and hands each answer its last number', () => {
    const conn = openSession();
    for (const text of ['a', 'b']) conn.send(text);
    const first = poll(conn);
    expect(first.texts()).toEqual(['a', 'b']);
    expect(first.lastSeq).toBe(2);
    conn.send('c');
    expect(poll(conn, 2).lastSeq).toBe(3);
  });

  it('keeps an answer until acknowledged, and a resume sends again what the cookie does not cover', () => {
    const conn = openSession();
    for (const text of ['a', 'b', 'c']) conn.send(text);
    poll(conn);
    // The browser got frames 1 and 2 only (its cookie says 2); the transport is then lost.
    conn.send('d');
    poll(conn, 2, false);
    expect(conn.isResumable).toBe(true);
    conn.prepareResume(2);
    const resumed = new ConfirmingPoll(conn);
    conn.attach(resumed);
    expect(resumed.payload?.startsWith(encodeFrame(SESSION_ID))).toBe(true);
    expect(resumed.texts().slice(1)).toEqual(['c', 'd']);
  });

  it('a poll without a cookie acknowledges the whole last answer', () => {
    const conn = openSession();
    conn.send('a');
    poll(conn);
    conn.send('b');
    poll(conn, undefined, false);
    conn.prepareResume(undefined);
    const resumed = new ConfirmingPoll(conn);
    conn.attach(resumed);
    expect(resumed.texts().slice(1)).toEqual(['b']);
  });
});
