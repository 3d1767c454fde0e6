/**
 * The plain endpoint's timers (keep-alive.ts) on fake timers: no socket is involved, the
 * connection and outbox are plain objects that record what the timers asked of them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeepAlive, QUIET_STEPS, stepOf, type KeptAlive, type WriteWatched } from '../../src/endpoints/keep-alive.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

class FakeConnection implements KeptAlive {
  idleSteps = 0;
  bytesSeen = 0;
  isReceivePaused = false;
  peerBytes = 0;
  pings = 0;
  idleAt: number | null = null;
  closeAt: number | null = null;
  bytesRead(): number {
    return this.peerBytes;
  }
  ping(): void {
    this.pings++;
  }
  idleExpired(): void {
    this.idleAt = performance.now();
  }
  closeExpired(): void {
    this.closeAt = performance.now();
  }
}

class FakeOutbox implements WriteWatched {
  isWriteWatched = false;
  hasWriteProgress = false;
  writeSteps = 0;
  isBusy = true;
  expiredAt: number | null = null;
  isWriting(): boolean {
    return this.isBusy;
  }
  writeExpired(): void {
    this.expiredAt = performance.now();
  }
}

const limits = { pingIntervalMs: 250, idleTimeoutMs: 800, writeTimeoutMs: 400, closeTimeoutMs: 300 };

describe('KeepAlive', () => {
  it('pings every pingIntervalMs until the connection closes', () => {
    const keepAlive = new KeepAlive(limits);
    const conn = new FakeConnection();
    keepAlive.start(conn);
    conn.peerBytes = 1;
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(250);
      conn.peerBytes++; // the pongs
    }
    expect(conn.pings).toBe(3);
    keepAlive.closing(conn);
    vi.advanceTimersByTime(1000);
    expect(conn.pings).toBe(3);
  });

  it('ends an idle connection no sooner than idleTimeoutMs and at most one step later', () => {
    const keepAlive = new KeepAlive({ ...limits, pingIntervalMs: 0 });
    const conn = new FakeConnection();
    const start = performance.now();
    keepAlive.start(conn);
    vi.advanceTimersByTime(799);
    expect(conn.idleAt).toBeNull();
    vi.advanceTimersByTime(stepOf(800) + 2);
    expect(conn.idleAt).not.toBeNull();
    expect((conn.idleAt as number) - start).toBeGreaterThanOrEqual(800);
  });

  it('counts anything the peer sent as activity, whenever in a step it came', () => {
    const keepAlive = new KeepAlive({ ...limits, pingIntervalMs: 0 });
    const conn = new FakeConnection();
    keepAlive.start(conn);
    // Bytes arrive just after a step, every 700 ms: never 800 ms of silence.
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(700);
      conn.peerBytes++;
    }
    expect(conn.idleAt).toBeNull();
    const lastActivity = performance.now();
    vi.advanceTimersByTime(800 + stepOf(800) + 2);
    expect(conn.idleAt).not.toBeNull();
    expect((conn.idleAt as number) - lastActivity).toBeGreaterThanOrEqual(800);
    expect((conn.idleAt as number) - lastActivity).toBeLessThanOrEqual(800 + stepOf(800) + 1);
  });

  it('suspends the idle deadline while reading is paused (the delay is ours)', () => {
    const keepAlive = new KeepAlive({ ...limits, pingIntervalMs: 0 });
    const conn = new FakeConnection();
    keepAlive.start(conn);
    conn.isReceivePaused = true;
    vi.advanceTimersByTime(5000);
    expect(conn.idleAt).toBeNull();
    conn.isReceivePaused = false;
    vi.advanceTimersByTime(800 + stepOf(800) + 2);
    expect(conn.idleAt).not.toBeNull();
  });

  it('times out writes without progress for writeTimeoutMs; progress or an idle outbox keeps it quiet', () => {
    const keepAlive = new KeepAlive(limits);
    const outbox = new FakeOutbox();
    keepAlive.writing(outbox);
    // Progress every 300 ms: no timeout.
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(300);
      outbox.hasWriteProgress = true;
    }
    expect(outbox.expiredAt).toBeNull();
    // Nothing waits for the network any more: the watchdog rests.
    outbox.isBusy = false;
    vi.advanceTimersByTime(2000);
    expect(outbox.expiredAt).toBeNull();
    expect(outbox.isWriteWatched).toBe(false);
    // Busy again, and stuck.
    outbox.isBusy = true;
    const stuckAt = performance.now();
    keepAlive.writing(outbox);
    vi.advanceTimersByTime(399);
    expect(outbox.expiredAt).toBeNull();
    vi.advanceTimersByTime(stepOf(400) + 2);
    expect((outbox.expiredAt as number) - stuckAt).toBeGreaterThanOrEqual(400);
  });

  it('drops TCP closeTimeoutMs after a close was started, unless the connection ended first', () => {
    const keepAlive = new KeepAlive(limits);
    const slow = new FakeConnection();
    const polite = new FakeConnection();
    keepAlive.start(slow);
    keepAlive.start(polite);
    keepAlive.closing(slow);
    keepAlive.closing(polite);
    vi.advanceTimersByTime(100);
    keepAlive.ended(polite, null);
    vi.advanceTimersByTime(201);
    expect(slow.closeAt).not.toBeNull();
    expect(polite.closeAt).toBeNull();
    expect(polite.idleAt).toBeNull();
  });

  it('runs one Node timer per list, however many connections', () => {
    const keepAlive = new KeepAlive(limits);
    for (let i = 0; i < 100; i++) keepAlive.start(new FakeConnection());
    // The ping list and the idle step list.
    expect(vi.getTimerCount()).toBe(2);
    expect(QUIET_STEPS).toBeGreaterThan(1);
  });
});
