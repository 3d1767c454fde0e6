/**
 * Scenario G's generator kinds (the cost curve to the machine's limits):
 *
 *   reach   idle connections opened level by level from several local addresses
 *           (127.0.0.x), each connect bounded in time; the first failure ends the curve and
 *           its error (EMFILE, EADDRNOTAVAIL, ECONNRESET, a timeout…) is reported
 *   rounds  N websocket clients; R rounds of one broadcast to all, each timed from the
 *           trigger to the last client's message
 *
 * Several `reach` generators may share one curve (a generator's own file descriptors and
 * memory are bounded too): the orchestrator gives each its share of every level.
 */
import type { BenchClient, Connector, OnMessage, ProtocolName } from './protocols.js';

export interface ReachSpec {
  readonly kind: 'reach';
  readonly protocol: ProtocolName;
  readonly port: number;
  /** This generator's share of each level, cumulative. */
  readonly levels: number[];
  /** Local addresses to connect from, round-robin. */
  readonly sources: string[];
  readonly connectTimeoutMs: number;
}

export interface RoundsSpec {
  readonly kind: 'rounds';
  readonly protocol: ProtocolName;
  readonly port: number;
  readonly clients: number;
  readonly rounds: number;
  readonly size: number;
  readonly sources: string[];
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
}

export interface ReachResult {
  readonly kind: 'reach';
  readonly reached: number;
  readonly error?: string;
}

export interface RoundsResult {
  readonly kind: 'rounds';
  readonly clients: number;
  readonly rounds: number;
  /** Deliveries over the time the rounds took (the gaps between rounds excluded). */
  readonly perSecond: number;
  /** Over rounds: ms from the trigger to the last client's message. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly note?: string;
}

/** A client whose messages go to a replaceable handler. */
export interface Slot {
  client: BenchClient;
  onMessage: OnMessage;
}

const CONNECT_BATCH = 100;

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** The error as the report shows it: its code first (EMFILE, EADDRNOTAVAIL…) when it has one. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** One connect, bounded in time: a client that opens after its timeout is closed at once. */
function connectWithin(connect: Connector, port: number, from: string | undefined, timeoutMs: number): Promise<Slot> {
  return new Promise((resolve, reject) => {
    const slot: Slot = { client: { send: () => undefined, close: () => undefined }, onMessage: () => undefined };
    let isSettled = false;
    const timer = setTimeout(() => {
      isSettled = true;
      reject(new Error(`connect timeout: not open within ${timeoutMs} ms`));
    }, timeoutMs);
    connect(port, (text) => slot.onMessage(text), from).then(
      (client) => {
        clearTimeout(timer);
        if (isSettled) return client.close();
        isSettled = true;
        slot.client = client;
        resolve(slot);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (isSettled) return;
        isSettled = true;
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Opens clients, a batch at a time, until `slots` holds `count`, their local addresses
 * round-robin over `sources`. Returns the first error, or undefined; the clients that did
 * open stay in `slots` (to be counted, and closed).
 */
export async function fill(
  connect: Connector,
  spec: { port: number; sources: string[]; connectTimeoutMs: number },
  slots: Slot[],
  count: number,
): Promise<string | undefined> {
  while (slots.length < count) {
    const base = slots.length;
    const batch = Math.min(CONNECT_BATCH, count - base);
    const settled = await Promise.allSettled(
      Array.from({ length: batch }, (_, i) =>
        connectWithin(connect, spec.port, spec.sources[(base + i) % spec.sources.length], spec.connectTimeoutMs),
      ),
    );
    let error: string | undefined;
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') slots.push(outcome.value);
      else error ??= describe(outcome.reason);
    }
    if (error !== undefined) return error;
  }
  return undefined;
}

/** The orchestrator's next `{type:'continue'}`; false when it says to stop. */
export function nextContinue(): Promise<boolean> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string; stop?: boolean }) => {
      if (message.type !== 'continue') return;
      process.off('message', onMessage);
      resolve(message.stop !== true);
    };
    process.on('message', onMessage);
  });
}

export async function runReach(spec: ReachSpec, connect: Connector): Promise<ReachResult> {
  const slots: Slot[] = [];
  let error: string | undefined;
  for (const level of spec.levels) {
    error = await fill(connect, spec, slots, level);
    process.send?.({ type: 'level', connections: slots.length, error });
    const goOn = await nextContinue();
    if (error !== undefined || !goOn) break;
  }
  for (const slot of slots) slot.client.close();
  return error === undefined
    ? { kind: 'reach', reached: slots.length }
    : { kind: 'reach', reached: slots.length, error };
}

/** One broadcast from `slots[0]`: ms until every client has its message, or null after `timeoutMs`. */
function roundOnce(slots: Slot[], trigger: string, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    let waiting = slots.length;
    const start = performance.now();
    const timer = setTimeout(() => resolve(null), timeoutMs);
    for (const slot of slots) {
      let hasIt = false;
      slot.onMessage = (text) => {
        if (hasIt || text.startsWith('!')) return;
        hasIt = true;
        if (--waiting > 0) return;
        clearTimeout(timer);
        resolve(performance.now() - start);
      };
    }
    slots[0]?.client.send(trigger);
  });
}

export async function runRounds(
  spec: RoundsSpec,
  connect: Connector,
  mark: (label: string) => void,
): Promise<RoundsResult> {
  const slots: Slot[] = [];
  const error = await fill(connect, spec, slots, spec.clients);
  if (error !== undefined) {
    for (const slot of slots) slot.client.close();
    throw new Error(`opened ${slots.length} of ${spec.clients} clients: ${error}`);
  }
  const times: number[] = [];
  // The orchestrator reads the server's CPU time at these marks (µs per delivery).
  mark('start');
  for (let round = 0; round < spec.rounds; round++) {
    const ms = await roundOnce(slots, `!bcast 1 ${spec.size}`, spec.timeoutMs);
    if (ms === null) break;
    times.push(ms);
  }
  mark('end');
  for (const slot of slots) slot.client.close();
  const sorted = [...times].sort((a, b) => a - b);
  const totalMs = times.reduce((sum, ms) => sum + ms, 0);
  const result: RoundsResult = {
    kind: 'rounds',
    clients: spec.clients,
    rounds: times.length,
    perSecond: (times.length * spec.clients) / (totalMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
  return times.length === spec.rounds
    ? result
    : { ...result, note: `round ${times.length + 1} not delivered to all within ${spec.timeoutMs} ms` };
}
