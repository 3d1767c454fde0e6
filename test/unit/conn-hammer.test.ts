import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeFrames, encodeFrame } from '../../src/codecs/sio.js';
import { Conn } from '../../src/session/conn.js';
import type { QueueOverflowPolicy } from '../../src/hub/results.js';
import { FakeTransport, RecordingHooks, TEST_SESSION_OPTIONS } from '../helpers/fake-transport.js';

/** mulberry32: a small seeded PRNG, so a failing seed can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SESSION_ID = 'Ab3dE5gH7jK9mN1p';
const STEPS = 400;
const LIMITS = { maxQueueMessages: 16, maxQueueBytes: 200, heartbeatIntervalMs: 300, heartbeatTimeoutMs: 600 };

/**
 * One run: a random client attaches and detaches transports (websocket-like and poll-like),
 * backs up and drains, echoes heartbeats or not, lets time pass, while the server sends
 * numbered messages and sometimes closes. Checked afterwards: the handshake went out once
 * and first; the messages that arrived are exactly the accepted sends, in order, minus the
 * ones reported lost; and disconnect fired once, only if the session closed.
 */
function hammer(seed: number, policy: QueueOverflowPolicy): void {
  const next = random(seed);
  const hooks = new RecordingHooks();
  const conn = new Conn(
    SESSION_ID,
    'websocket',
    '127.0.0.1',
    { ...TEST_SESSION_OPTIONS, ...LIMITS, queueOverflow: policy },
    hooks,
  );
  const transports: FakeTransport[] = [];
  const current = () => transports.findLast((t) => !t.isClosed);
  const gone = () => transports.filter((t) => t.isGone && !t.isClosed);
  let sent = 0;
  const accepted: number[] = [];
  for (let step = 0; step < STEPS && conn.state !== 'closed'; step++) {
    const roll = next();
    if (next() < 0.3) for (const transport of gone()) transport.end();
    if (roll < 0.4) {
      const result = conn.send(`m${sent}`);
      if (result.ok) accepted.push(sent);
      else expect(['ERR_QUEUE_FULL', 'ERR_QUEUE_OVERFLOW']).toContain(result.error.code);
      sent++;
    } else if (roll < 0.5) {
      const transport = new FakeTransport(conn, next() < 0.5);
      transports.push(transport);
      conn.attach(transport);
    } else if (roll < 0.55) {
      current()?.end();
    } else if (roll < 0.58) {
      // The socket broke; its close event comes with a later step.
      const transport = current();
      if (transport !== undefined) transport.isGone = true;
    } else if (roll < 0.64) {
      const transport = current();
      if (transport !== undefined) transport.mode = 'buffered';
    } else if (roll < 0.72) {
      const transport = current();
      if (transport !== undefined && transport.mode === 'buffered') transport.drain();
    } else if (roll < 0.82) {
      // The client echoes the last heartbeat it was sent, if any.
      const last = transports.flatMap((t) => t.payloads).findLast((p) => p.includes('~h~'));
      const counter = last === undefined ? null : /~h~(\d+)/.exec(last)?.[1];
      if (counter != null) conn.receive(encodeFrame(`~h~${counter}`) + encodeFrame(`c${step}`));
    } else if (roll < 0.999) {
      vi.advanceTimersByTime(Math.floor(next() * 400));
    } else {
      conn.close();
    }
  }
  // Let every pending timer run out: the session must end by itself.
  for (const transport of transports) transport.end();
  vi.advanceTimersByTime(TEST_SESSION_OPTIONS.reconnectWindowMs + 1);
  expect(conn.state).toBe('closed');

  const frames: string[] = [];
  for (const payload of transports.flatMap((t) => t.payloads)) {
    const decoded = decodeFrames(payload);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) frames.push(...decoded.value);
  }
  if (transports.some((t) => t.payloads.length > 0)) expect(frames[0]).toBe(SESSION_ID);
  expect(frames.filter((frame) => frame === SESSION_ID)).toHaveLength(frames.length > 0 ? 1 : 0);
  const delivered = frames.filter((frame) => frame.startsWith('m')).map((frame) => Number(frame.slice(1)));
  const heartbeats = frames.filter((frame) => frame.startsWith('~h~')).map((frame) => Number(frame.slice(3)));
  // Heartbeats count up (one written to a socket already gone is lost, with nothing to echo).
  expect(heartbeats).toEqual([...heartbeats].sort((a, b) => a - b));
  expect(new Set(heartbeats).size).toBe(heartbeats.length);
  expect(hooks.closed).toHaveLength(1);
  // Every refusal was counted; nothing was dropped without one.
  expect(conn.queueOverflows).toBe(sent - accepted.length);
  const lost = hooks.closed[0]?.lostMessages ?? -1;
  // Delivered in order, nothing twice, and only the last `lost` accepted sends missing.
  expect(delivered).toEqual(accepted.slice(0, accepted.length - lost));
  expect(hooks.messages).toEqual(
    hooks.messages.filter((message) => typeof message === 'string' && message.startsWith('c')),
  );
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Conn: seeded random attach/detach/send/close', () => {
  const seeds = Array.from({ length: Number(process.env.HAMMER_SEEDS ?? 40) }, (_, i) => 1000 + i);
  it.each(seeds)("seed %i, policy 'refuse'", (seed) => hammer(seed, 'refuse'));
  it.each(seeds)("seed %i, policy 'close'", (seed) => hammer(seed, 'close'));
});
