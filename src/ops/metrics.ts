/**
 * Prometheus `/metrics` through prom-client: one Registry per server (never prom-client's
 * module-level default registry, so two servers in one process never mix their numbers),
 * the default process metrics, and Switchyard's own, read from the server's OpsCounters at
 * scrape time — nothing on the hot path calls prom-client.
 *
 * Every metric, its labels and its meaning are listed in docs/operations.md.
 */
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type MetricObjectWithValues,
  type MetricValueWithName,
} from 'prom-client';
import { FAMILIES, FANOUT_BUCKETS_MS, type OpsCounters } from './counters.js';

/** What the metrics read besides the counters (gauges made at scrape time). */
export interface MetricsSource {
  readonly counters: OpsCounters;
  /** Named rooms with at least one member here. */
  roomCount(): number;
  /** Failures the adapter reported (Redis gone, publishes failed…). */
  adapterErrors(): number;
}

type Labels = Record<string, string>;
/** A (labels, value) pair for a metric to show. */
type Sample = readonly [Labels, number];

/** Every (family, second label) → count of a per-family table. */
function* perFamily(table: Record<string, Map<string, number>>, label: string): Generator<Sample> {
  for (const family of FAMILIES) {
    for (const [key, value] of table[family] ?? []) yield [{ family, [label]: key }, value];
  }
}

/**
 * A gauge or counter whose samples are computed when scraped: `collect` empties it and puts
 * back what `read` yields (a counter's totals only grow, so `inc` from empty sets them).
 */
function computed(
  type: 'gauge' | 'counter',
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Iterable<Sample>,
): void {
  const config = { name, help, labelNames, registers: [registry] };
  if (type === 'gauge') {
    new Gauge({ ...config, collect: refill(read, (gauge: Gauge, labels, value) => gauge.set(labels, value)) });
  } else {
    new Counter({ ...config, collect: refill(read, (counter: Counter, labels, value) => counter.inc(labels, value)) });
  }
}

function refill<M extends { reset(): void }>(
  read: () => Iterable<Sample>,
  put: (metric: M, labels: Labels, value: number) => void,
): (this: M) => void {
  return function collect(this: M) {
    this.reset();
    for (const [labels, value] of read()) put(this, labels, value);
  };
}

const gauge = (...args: Parameters<typeof computed> extends [unknown, ...infer Rest] ? Rest : never) =>
  computed('gauge', ...args);
const counter = (...args: Parameters<typeof computed> extends [unknown, ...infer Rest] ? Rest : never) =>
  computed('counter', ...args);

const FANOUT_NAME = 'switchyard_fanout_duration_seconds';
const FANOUT_HELP =
  'Time one fan-out (broadcast, roomcast, socketcast…) took to hand its message to the local members.';

/** The fan-out duration histogram, exported from the counters' own buckets (seconds, as Prometheus wants). */
class FanOutHistogram extends Histogram {
  constructor(
    registry: Registry,
    private readonly counters: OpsCounters,
  ) {
    super({
      name: FANOUT_NAME,
      help: FANOUT_HELP,
      buckets: FANOUT_BUCKETS_MS.map((ms) => ms / 1000),
      registers: [registry],
    });
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.getForPromString();
  }

  /** What the registry renders: cumulative buckets, +Inf, sum and count, from the counters. */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const name = FANOUT_NAME;
    const { fanOutBuckets, fanOutCount, fanOutSumMs } = this.counters;
    let cumulative = 0;
    const values = FANOUT_BUCKETS_MS.map((ms, index) => {
      cumulative += fanOutBuckets[index] ?? 0;
      return { labels: { le: ms / 1000 }, value: cumulative, metricName: `${name}_bucket` };
    });
    const all: MetricValueWithName<string>[] = [
      ...values,
      { labels: { le: '+Inf' }, value: fanOutCount, metricName: `${name}_bucket` },
      { labels: {}, value: fanOutSumMs / 1000, metricName: `${name}_sum` },
      { labels: {}, value: fanOutCount, metricName: `${name}_count` },
    ];
    return {
      name,
      help: FANOUT_HELP,
      type: 'histogram',
      values: all,
      aggregator: 'sum',
    } as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }
}

export class Metrics {
  readonly registry = new Registry();

  constructor(source: MetricsSource) {
    const c = source.counters;
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    gauge(
      r,
      'switchyard_sessions',
      'Open 0.6 sessions, sac-sock sockets and plain connections.',
      ['family', 'transport'],
      () => perFamily(c.open, 'transport'),
    );
    counter(
      r,
      'switchyard_sessions_opened_total',
      'Sessions, sockets and connections opened.',
      ['family', 'transport'],
      () => perFamily(c.openedTotal, 'transport'),
    );
    counter(
      r,
      'switchyard_sessions_closed_total',
      'Sessions, sockets and connections closed, by reason.',
      ['family', 'transport', 'reason'],
      () => closedSamples(c),
    );
    counter(r, 'switchyard_messages_received_total', 'Messages that arrived from clients.', ['family'], () =>
      FAMILIES.map((family) => [{ family }, c.receivedTotal[family]] as const),
    );
    counter(
      r,
      'switchyard_messages_sent_total',
      'Messages handed to a transport or queued for a client.',
      ['family'],
      () => FAMILIES.map((family) => [{ family }, c.sentTotal[family]] as const),
    );
    counter(
      r,
      'switchyard_messages_lost_total',
      'Messages accepted for a client and never delivered.',
      ['family', 'reason'],
      () => perFamily(c.lostByReason, 'reason'),
    );
    counter(
      r,
      'switchyard_queue_overflows_total',
      'Send queues that overflowed (refused or closed by policy).',
      ['family'],
      () => FAMILIES.map((family) => [{ family }, c.overflows[family]] as const),
    );
    counter(r, 'switchyard_fanout_deliveries_total', 'Members reached by fan-out, every fan-out summed.', [], () => [
      [{}, c.fanOutDeliveries],
    ]);
    counter(
      r,
      'switchyard_upgrades_refused_total',
      'Websocket upgrades refused before they opened anything.',
      [],
      () => [[{}, c.upgradesRefused]],
    );
    gauge(r, 'switchyard_rooms', 'Named rooms with at least one member on this instance.', [], () => [
      [{}, source.roomCount()],
    ]);
    counter(
      r,
      'switchyard_adapter_errors_total',
      'Failures the adapter reported (a broker gone, a publish failed).',
      [],
      () => [[{}, source.adapterErrors()]],
    );
    new FanOutHistogram(r, c);
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

function* closedSamples(c: OpsCounters): Generator<Sample> {
  for (const family of FAMILIES) {
    for (const [transport, byReason] of c.closedByReason[family]) {
      for (const [reason, value] of byReason) yield [{ family, transport, reason }, value];
    }
  }
}
