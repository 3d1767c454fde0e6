/**
 * One overflow policy and one drain wait for every family's outbound queue: a 0.6 session's
 * SendQueue, a sac-sock socket's unsent frames, a plain connection's outbox.
 */
import { RealtimeError } from '../errors.js';
import type { QueueOverflowPolicy, SendResult } from '../hub/results.js';

/**
 * A send that found its member's queue full. `refuse`: this send is refused
 * (`ERR_QUEUE_FULL`), the member stays. `close`: the member is a slow consumer and is closed
 * through `close` (`ERR_QUEUE_OVERFLOW`, close code 1013). `limits` says which bound it hit.
 */
export function overflow(
  policy: QueueOverflowPolicy,
  limits: string,
  close: (error: RealtimeError) => void,
): SendResult {
  if (policy === 'refuse') {
    return { ok: false, error: new RealtimeError('ERR_QUEUE_FULL', `send queue full (${limits})`) };
  }
  const error = new RealtimeError('ERR_QUEUE_OVERFLOW', `send queue overflowed (${limits}): slow consumer`);
  close(error);
  return { ok: false, error };
}

/** Whoever waits for a backed-up stream: at most one 'drain' listener at a time. */
export interface DrainWaiter {
  /** Set while a 'drain' listener is installed. */
  isWaitingForDrain: boolean;
  /** Still above its high-water mark after a 'drain' (wait again). */
  isBackedUp(): boolean;
  /** Below the mark again: write what waited. */
  drained(): void;
}

/** Waits for `stream`'s 'drain' until `waiter` is no longer backed up, then calls `drained`. */
export function waitForDrain(
  stream: { once(event: 'drain', listener: () => void): unknown },
  waiter: DrainWaiter,
): void {
  if (waiter.isWaitingForDrain) return;
  waiter.isWaitingForDrain = true;
  stream.once('drain', () => {
    waiter.isWaitingForDrain = false;
    if (waiter.isBackedUp()) waitForDrain(stream, waiter);
    else waiter.drained();
  });
}
