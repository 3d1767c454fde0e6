/**
 * Token buckets: `ratePerSecond` tokens a second, at most `ratePerSecond` held (one second's
 * burst). Keyed buckets (handshakes per address) forget keys that have been full for a while
 * and never hold more than `maxKeys`, so a flood of addresses cannot grow the map unbounded.
 */

/** One bucket's state; a plain object so a session can carry it in two numbers. */
export interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

/** Takes one token from `bucket`; false when it is empty (the request is over the rate). */
export function take(bucket: Bucket, ratePerSecond: number, nowMs: number): boolean {
  const elapsed = Math.max(0, nowMs - bucket.refilledAtMs);
  bucket.tokens = Math.min(ratePerSecond, bucket.tokens + (elapsed * ratePerSecond) / 1000);
  bucket.refilledAtMs = nowMs;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** Whoever carries its own bucket (a session, a socket), made full on first use. */
export interface RateHolder {
  inboundBucket: Bucket | null;
}

/** One message from `holder` at `ratePerSecond` (0 = no limit): false when it is over the rate. */
export function allowOne(holder: RateHolder, ratePerSecond: number, nowMs = Date.now()): boolean {
  if (ratePerSecond === 0) return true;
  holder.inboundBucket ??= { tokens: ratePerSecond, refilledAtMs: nowMs };
  return take(holder.inboundBucket, ratePerSecond, nowMs);
}

export class KeyedRateLimit {
  private readonly buckets = new Map<string, Bucket>();
  /** Requests refused since the limit was made. */
  refused = 0;

  constructor(
    private readonly ratePerSecond: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Whether `key` may go on now; 0 as the rate means no limit. */
  allow(key: string, nowMs = Date.now()): boolean {
    if (this.ratePerSecond === 0) return true;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.forgetIdle(nowMs);
      bucket = { tokens: this.ratePerSecond, refilledAtMs: nowMs };
      this.buckets.set(key, bucket);
    }
    if (take(bucket, this.ratePerSecond, nowMs)) return true;
    this.refused++;
    return false;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets that are full again (idle for a second or more); the oldest half if none is. */
  private forgetIdle(nowMs: number): void {
    for (const [key, bucket] of this.buckets) {
      if (nowMs - bucket.refilledAtMs >= 1000) this.buckets.delete(key);
    }
    if (this.buckets.size < this.maxKeys) return;
    let drop = Math.ceil(this.buckets.size / 2);
    for (const key of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}
