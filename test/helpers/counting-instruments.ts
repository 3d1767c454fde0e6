/**
 * An Instruments that counts what it is told, keyed like the metrics it would feed
 * (`family/transport/reason`), for tests of the instrumentation seam.
 */
import type { Family, Instruments } from '../../src/hub/instruments.js';

export class CountingInstruments implements Instruments {
  readonly counts = new Map<string, number>();
  readonly fanOuts: Array<{ deliveries: number; durationMs: number }> = [];

  /** The count under `key` (0 when never told). */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  opened(family: Family, transport: string): void {
    this.add(`opened/${family}/${transport}`, 1);
  }
  closed(family: Family, transport: string, reason: string): void {
    this.add(`closed/${family}/${transport}/${reason}`, 1);
  }
  received(family: Family, count: number): void {
    this.add(`received/${family}`, count);
  }
  sent(family: Family, count: number): void {
    this.add(`sent/${family}`, count);
  }
  lost(family: Family, reason: string, count: number): void {
    this.add(`lost/${family}/${reason}`, count);
  }
  overflowed(family: Family): void {
    this.add(`overflowed/${family}`, 1);
  }
  fannedOut(deliveries: number, durationMs: number): void {
    this.fanOuts.push({ deliveries, durationMs });
  }

  private add(key: string, count: number): void {
    this.counts.set(key, this.count(key) + count);
  }
}
