/**
 * The load generator: one child process per measurement, driven by bench/run.ts over IPC.
 * argv[2] is a JSON `LoadSpec`; the result comes back as `{type:'result', …}`.
 *
 *   echo    N clients, each doing sequential round trips of one payload (scenarios A, B, E)
 *   fanout  N websocket clients; one triggers a broadcast, then a room of R does (scenario C)
 *   idle    connections opened level by level; after each level the generator reports
 *           `{type:'level'}` and waits for `{type:'continue'}` while the server is measured (D, E)
 *   reach, rounds   scenario G, in reach.ts
 */
import { CONNECTORS, failures, type ProtocolName } from './protocols.js';
import { nextContinue, percentile, runReach, runRounds, type ReachSpec, type RoundsSpec, type Slot } from './reach.js';

export type LoadSpec =
  | {
      kind: 'echo';
      protocol: ProtocolName;
      port: number;
      clients: number;
      warmupMs: number;
      durationMs: number;
      payloadBytes: number;
    }
  | {
      kind: 'fanout';
      protocol: ProtocolName;
      port: number;
      clients: number;
      messages: number;
      size: number;
      roomSize: number;
      roomRepeats: number;
      timeoutMs: number;
    }
  | { kind: 'idle'; protocol: ProtocolName; port: number; levels: number[] }
  | ReachSpec
  | RoundsSpec;

export interface EchoResult {
  readonly kind: 'echo';
  readonly roundTrips: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface FanoutResult {
  readonly kind: 'fanout';
  /** deliveries per second, and ms from trigger to last delivery; null when not all arrived. */
  readonly all: { readonly perSecond: number; readonly lastMs: number } | null;
  readonly room: { readonly perSecond: number; readonly lastMs: number } | null;
  readonly note?: string;
}

export interface IdleResult {
  readonly kind: 'idle';
  readonly reached: number;
}

const CONNECT_BATCH = 100;
const JOINED = '!joined';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const connect = CONNECTORS[spec.protocol];
process.on('disconnect', () => process.exit(0));

const marked = new Set<string>();

function mark(label: string): void {
  if (marked.has(label) || process.connected !== true) return;
  marked.add(label);
  process.send?.({ type: 'mark', label });
}

async function openSlots(count: number, slots: Slot[] = []): Promise<Slot[]> {
  while (slots.length < count) {
    const batch = Math.min(CONNECT_BATCH, count - slots.length);
    const opened = await Promise.all(
      Array.from({ length: batch }, async () => {
        const slot = { onMessage: () => undefined } as unknown as Slot;
        slot.client = await connect(spec.port, (text) => slot.onMessage(text));
        return slot;
      }),
    );
    slots.push(...opened);
  }
  return slots;
}

async function runEcho(s: Extract<LoadSpec, { kind: 'echo' }>): Promise<EchoResult> {
  const slots = await openSlots(s.clients);
  const payload = 'e'.repeat(s.payloadBytes);
  const start = performance.now();
  const measureFrom = start + s.warmupMs;
  const measureTo = measureFrom + s.durationMs;
  const latencies: number[] = [];
  // The orchestrator reads the server's CPU time at these marks.
  setTimeout(() => mark('start'), s.warmupMs);
  const endMark = setTimeout(() => mark('end'), s.warmupMs + s.durationMs);
  // A round trip ends when the echo has come back and, over HTTP, the send request has been
  // answered too: a session never has two sends in flight (a browser's XHR client waits for
  // its POST's answer), so pipelining cannot make the server look faster than it is.
  const loop = (slot: Slot) =>
    new Promise<void>((resolve) => {
      let sentAt = 0;
      let awaiting = 0;
      const done = () => {
        if (--awaiting !== 0) return;
        const now = performance.now();
        if (sentAt >= measureFrom && now <= measureTo) latencies.push(now - sentAt);
        next();
      };
      const next = () => {
        if (performance.now() >= measureTo) return resolve();
        sentAt = performance.now();
        awaiting = 1;
        const sent = slot.client.send(payload);
        if (sent !== undefined) {
          awaiting = 2;
          sent.then(done, done);
        }
      };
      slot.onMessage = (text) => {
        if (text === payload && awaiting > 0) done();
      };
      next();
    });
  await Promise.all(slots.map(loop));
  // The last loop can end a moment before the timer; the mark must precede the result.
  clearTimeout(endMark);
  mark('end');
  for (const slot of slots) slot.client.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    kind: 'echo',
    roundTrips: sorted.length,
    perSecond: sorted.length / (s.durationMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

/** Sends `trigger` from `slots[0]` and waits until each of `receivers` got `expected` messages. */
function fanOnce(slots: Slot[], receivers: number, expected: number, trigger: string, timeoutMs: number) {
  return new Promise<{ perSecond: number; lastMs: number } | null>((resolve) => {
    let complete = 0;
    const start = performance.now();
    const timer = setTimeout(() => resolve(null), timeoutMs);
    for (const slot of slots.slice(0, receivers)) {
      let count = 0;
      slot.onMessage = (text) => {
        if (text.startsWith('!')) return;
        if (++count !== expected) return;
        if (++complete < receivers) return;
        clearTimeout(timer);
        const lastMs = performance.now() - start;
        resolve({ lastMs, perSecond: (receivers * expected) / (lastMs / 1000) });
      };
    }
    slots[0]?.client.send(trigger);
  });
}

function summarizeRounds(rounds: Array<{ lastMs: number }>, deliveriesPerRound: number) {
  const totalMs = rounds.reduce((sum, round) => sum + round.lastMs, 0);
  const sorted = rounds.map((round) => round.lastMs).sort((a, b) => a - b);
  return {
    perSecond: (rounds.length * deliveriesPerRound) / (totalMs / 1000),
    lastMs: sorted[Math.floor(sorted.length / 2)] as number,
  };
}

async function runFanout(s: Extract<LoadSpec, { kind: 'fanout' }>): Promise<FanoutResult> {
  const slots = await openSlots(s.clients);
  mark('all-start');
  const all = await fanOnce(slots, slots.length, s.messages, `!bcast ${s.messages} ${s.size}`, s.timeoutMs);
  mark('all-end');
  for (const slot of slots) slot.onMessage = () => undefined;
  // The room: the first roomSize clients join, each waiting for its `!joined`.
  await Promise.all(
    slots.slice(0, s.roomSize).map(
      (slot) =>
        new Promise<void>((resolve) => {
          slot.onMessage = (text) => text === JOINED && resolve();
          slot.client.send('!join');
        }),
    ),
  );
  // A room fan-out is over in some 50 ms, as short as a collection pause or a 10 ms CPU tick:
  // it runs `roomRepeats` times, deliveries/s over them all, the time to the last delivery
  // their median.
  const rounds: Array<{ perSecond: number; lastMs: number }> = [];
  mark('room-start');
  for (let i = 0; i < s.roomRepeats; i++) {
    const round = await fanOnce(slots, s.roomSize, s.messages, `!room ${s.messages} ${s.size}`, s.timeoutMs);
    if (round === null) break;
    rounds.push(round);
  }
  mark('room-end');
  const room = rounds.length < s.roomRepeats ? null : summarizeRounds(rounds, s.roomSize * s.messages);
  for (const slot of slots) slot.client.close();
  return all === null || room === null
    ? { kind: 'fanout', all, room, note: `not every delivery arrived within ${s.timeoutMs} ms` }
    : { kind: 'fanout', all, room };
}

async function runIdle(s: Extract<LoadSpec, { kind: 'idle' }>): Promise<IdleResult> {
  const slots: Slot[] = [];
  for (const level of s.levels) {
    await openSlots(level, slots);
    process.send?.({ type: 'level', connections: slots.length });
    await nextContinue();
  }
  for (const slot of slots) slot.client.close();
  return { kind: 'idle', reached: slots.length };
}

function run(s: LoadSpec) {
  switch (s.kind) {
    case 'echo':
      return runEcho(s);
    case 'fanout':
      return runFanout(s);
    case 'idle':
      return runIdle(s);
    case 'reach':
      return runReach(s, connect);
    case 'rounds':
      return runRounds(s, connect, mark);
  }
}

async function main(): Promise<void> {
  try {
    const result = await run(spec);
    process.send?.({ type: 'result', result, failures: failures.count, lastFailure: failures.last });
  } catch (error) {
    process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
  // Leave the exit to the orchestrator's disconnect once the result is flushed.
  setTimeout(() => process.exit(0), 1000).unref();
}

void main();
