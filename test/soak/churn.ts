/**
 * The churn driver of the soak run (`npm run soak`, 10 minutes) and of its 60-second version
 * in `npm test` (test/fault/churn.fault.test.ts). A server in this process answers waves of
 * visits over every transport (test/soak/visits.ts) while a ticker sends room events and
 * broadcasts. Every `cycleMs` the churn pauses: the ticker stops, every session and socket
 * must end, memory is collected, and a sample is taken — so every sample is of an idle
 * server and comparable with the first (the baseline, after a warm-up cycle).
 *
 * The leak rule (`judge`): a run leaks when, at any sample, a session, budget place,
 * sac-sock socket, room member or room entry is left; or file descriptors or active
 * handles exceed the baseline by more than `HANDLE_SLACK`, or timers by `TIMER_SLACK`; or the
 * heap after a full collection (heap used + array buffers) ends more than `HEAP_MARGIN_BYTES`
 * above the baseline, or (with 12 samples or more) grows by more than
 * `HEAP_SLOPE_BYTES_PER_MIN` over the second half of the run. RSS is reported, not judged:
 * the allocator keeps freed pages, so it says little about leaks.
 */
import { readdirSync } from 'node:fs';
import type { Switchyard } from '../../src/server.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { installEchoes } from '../helpers/well-behaved.js';
import { SOAK_PLAIN_PATH, SOAK_ROOMS, VISITS } from './visits.js';

export const HANDLE_SLACK = 8;
export const TIMER_SLACK = 3;
export const HEAP_MARGIN_BYTES = 8 * 1024 * 1024;
export const HEAP_SLOPE_BYTES_PER_MIN = 1024 * 1024;
const TICK_MS = 100;

/** One idle-server sample. */
export interface Sample {
  readonly atMs: number;
  readonly rssBytes: number;
  readonly heapBytes: number;
  readonly fds: number;
  readonly handles: number;
  readonly timers: number;
  /** Sessions + budget places + sac-sock sockets + room members + room entries: 0 when idle. */
  readonly leftOver: number;
  readonly visits: number;
  readonly failedVisits: number;
}

export interface ChurnRun {
  readonly samples: Sample[];
  readonly failures: string[];
}

/** The soak server: echoes on every family, a join event, a plain endpoint that joins a room. */
export async function startSoakServer(): Promise<StartedServer> {
  let plainCount = 0;
  return startServer(
    {
      heartbeatIntervalMs: 2_000,
      heartbeatTimeoutMs: 4_000,
      // Long enough for the gap between two polls on a busy machine, short enough to end
      // every dropped session within the pause of a cycle.
      reconnectWindowMs: 3_000,
      pollDurationMs: 1_000,
      // Idle keep-alive sockets of the clients' fetch close between cycles, not minutes later.
      keepAliveTimeoutMs: 500,
    },
    (server) => {
      // The echoes of the well-behaved checks (0.6 messages, the sac-sock event `echo`, a plain
      // endpoint), so the same checks can run after a churn.
      installEchoes(server);
      server.onEvent('join', (socket, data) => {
        socket.join(data.toString());
      });
      server.websocket<string>(SOAK_PLAIN_PATH, { mode: 'text', pingIntervalMs: 0 }, async (conn) => {
        server.join(conn, `room-${plainCount++ % SOAK_ROOMS}`);
        for await (const text of conn.messages) await conn.send(text);
      });
      server.on('error', () => undefined);
    },
  );
}

/** Room ticks and a broadcast every fifth tick, until stopped. */
function startTicker(server: Switchyard): () => void {
  let n = 0;
  const timer = setInterval(() => {
    n++;
    if (n % 5 === 0) server.broadcast({ tick: n });
    else server.to(`room-${n % SOAK_ROOMS}`).emit('tick', n);
  }, TICK_MS);
  return () => clearInterval(timer);
}

/** Runs waves of visits of every kind until `untilMs`; counts visits and failures. */
async function churnUntil(
  baseUrl: string,
  untilMs: number,
  scale: number,
  tally: { visits: number; failures: string[] },
) {
  let n = 0;
  while (Date.now() < untilMs) {
    const wave = VISITS.flatMap(({ name, concurrency, visit }) =>
      Array.from({ length: Math.max(1, Math.round(concurrency * scale)) }, () => {
        const id = n++;
        return visit(baseUrl, id).then(
          () => void tally.visits++,
          (error: unknown) => void tally.failures.push(`${name}: ${String(error)}`),
        );
      }),
    );
    await Promise.all(wave);
  }
}

function leftOver(server: Switchyard): number {
  let rooms = 0;
  for (let i = 0; i < SOAK_ROOMS; i++) rooms += server.adapter.members(`room-${i}`).size;
  return server.connectionCount + server.budget.total + (server.sacSock?.size ?? 0) + server.adapter.size + rooms;
}

/** What keeps a server from being idle, for the message of a failed wait. */
function whatIsLeft(server: Switchyard): string {
  const sessions = [...server.registry.values()].map((conn) => `${conn.transport}/${conn.state}`);
  return (
    `sessions [${sessions.join(' ')}], budget ${server.budget.total}, sac-sock ${server.sacSock?.size ?? 0}, ` +
    `members ${server.adapter.size}, room entries ${leftOver(server) - server.connectionCount - server.budget.total - (server.sacSock?.size ?? 0) - server.adapter.size}`
  );
}

async function sample(server: Switchyard, startedAt: number, tally: { visits: number; failures: string[] }) {
  // Collect, let released buffers go, collect again (as test/helpers/memory.ts does).
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 20));
  globalThis.gc?.();
  const memory = process.memoryUsage();
  const resources = process.getActiveResourcesInfo();
  return {
    atMs: Date.now() - startedAt,
    rssBytes: memory.rss,
    heapBytes: memory.heapUsed + memory.arrayBuffers,
    fds: readdirSync('/proc/self/fd').length,
    handles: resources.length,
    timers: resources.filter((type) => type === 'Timeout').length,
    leftOver: leftOver(server),
    visits: tally.visits,
    failedVisits: tally.failures.length,
  } satisfies Sample;
}

/**
 * Churns for `durationMs` in cycles of `cycleMs`, after one warm-up cycle; `scale` multiplies
 * how many visits of each kind a wave runs at once; `onSample` hears of every sample (the
 * baseline first) as it is taken.
 */
export async function runChurn(
  started: StartedServer,
  {
    durationMs,
    cycleMs,
    scale = 1,
    onSample,
  }: { durationMs: number; cycleMs: number; scale?: number; onSample?: (s: Sample) => void },
): Promise<ChurnRun> {
  if (typeof globalThis.gc !== 'function') throw new Error('run node with --expose-gc');
  const { server, baseUrl } = started;
  const tally = { visits: 0, failures: [] as string[] };
  const startedAt = Date.now();
  const samples: Sample[] = [];
  const cycles = 1 + Math.max(1, Math.round(durationMs / cycleMs));
  for (let cycle = 0; cycle < cycles; cycle++) {
    const stopTicker = startTicker(server);
    const quiesceMs = 3_500;
    await churnUntil(baseUrl, Date.now() + Math.max(1_000, cycleMs - quiesceMs), scale, tally);
    stopTicker();
    await waitFor(() => leftOver(server) === 0, { timeoutMs: 15_000, intervalMs: 20, what: 'an idle server' }).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}: ${whatIsLeft(server)}`);
      },
    );
    // Idle keep-alive sockets close within keepAliveTimeoutMs.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const taken = await sample(server, startedAt, tally);
    samples.push(taken);
    onSample?.(taken);
  }
  return { samples, failures: tally.failures };
}

/** Least-squares slope of `y` over `x`. */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const num = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const den = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** The leak rule of the file header: the reasons a run leaks (none: it does not). */
export function judge(samples: readonly Sample[]): string[] {
  const [baseline, ...rest] = samples;
  if (baseline === undefined || rest.length === 0) return ['no samples after the baseline'];
  const reasons: string[] = [];
  for (const s of samples) {
    const at = `at ${Math.round(s.atMs / 1000)} s`;
    if (s.leftOver !== 0) reasons.push(`${at}: ${s.leftOver} sessions, sockets or room entries left`);
    if (s.fds > baseline.fds + HANDLE_SLACK)
      reasons.push(`${at}: ${s.fds} file descriptors (baseline ${baseline.fds})`);
    if (s.handles > baseline.handles + HANDLE_SLACK) reasons.push(`${at}: ${s.handles} handles (${baseline.handles})`);
    if (s.timers > baseline.timers + TIMER_SLACK) reasons.push(`${at}: ${s.timers} timers (${baseline.timers})`);
  }
  const last = rest[rest.length - 1]!;
  if (last.heapBytes - baseline.heapBytes > HEAP_MARGIN_BYTES) {
    reasons.push(`heap ended ${mb(last.heapBytes - baseline.heapBytes)} above the baseline`);
  }
  if (samples.length >= 12) {
    const half = samples.slice(Math.floor(samples.length / 2));
    const perMin = slope(half.map((s) => [s.atMs / 60_000, s.heapBytes] as const));
    if (perMin > HEAP_SLOPE_BYTES_PER_MIN) reasons.push(`heap grows ${mb(perMin)} per minute over the second half`);
  }
  return reasons;
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** One line per sample, for the report. */
export function describeSample(s: Sample, baseline: Sample | undefined): string {
  const growth = baseline === undefined ? '' : ` (${mb(s.heapBytes - baseline.heapBytes)} vs baseline)`;
  return (
    `${String(Math.round(s.atMs / 1000)).padStart(4)} s  rss ${mb(s.rssBytes)}  heap ${mb(s.heapBytes)}${growth}  ` +
    `fds ${s.fds}  handles ${s.handles}  timers ${s.timers}  left ${s.leftOver}  visits ${s.visits} (${s.failedVisits} failed)`
  );
}
