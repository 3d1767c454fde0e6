/**
 * The measurements every scenario is made of: a fresh server process on core 0, load
 * generators on core 1, a timed run repeated while others disturb it, a memory curve.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadSpec } from '../load/main.js';
import type { ProtocolName } from '../load/protocols.js';
import { BUSY_CORES, MAX_ATTEMPTS, REPEAT_BUDGET_MS, SIZES } from '../scenarios.js';
import type { Target } from '../targets.js';
import { BENCH_DIR, spawnChild, type Child } from './child.js';
import { raiseFdLimit } from './limits.js';
import { cpuWindow, processTicks, TICKS_PER_SECOND } from './machine.js';
import type { Figures } from './report.js';

const SERVER_CORE = 0;
const LOAD_CORE = 1;
const READY_TIMEOUT_MS = 20_000;

const profileDir = join(BENCH_DIR, 'results', 'profiles');
const runStartedAt = Date.now();

export interface Server {
  port: number;
  pid: number;
  /** Its process, for what it reports besides memory (a crash: see servers/behaviour.ts). */
  child: Child;
  /** RSS in bytes; the JS heap in use is logged alongside. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  stop(): Promise<void>;
}

export async function startServer(target: Target): Promise<Server> {
  const execArgv = ['--expose-gc'];
  if (process.env.BENCH_PROFILE === '1' && target.name === (process.env.BENCH_PROFILE_TARGET ?? 'switchyard')) {
    mkdirSync(profileDir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const child = spawnChild({ file: `servers/${target.server}`, core: SERVER_CORE, execArgv, name: target.name });
  const { port } = await child.next<{ port: number }>('ready', READY_TIMEOUT_MS);
  return {
    port,
    pid: child.pid,
    child,
    async memory() {
      child.send({ type: 'memory' });
      return child.next<{ rss: number; heapUsed: number }>('memory', 10_000);
    },
    stop: () => child.stop(),
  };
}

export function startLoad(spec: LoadSpec) {
  return spawnChild({ file: 'load/main.ts', args: [JSON.stringify(spec)], core: LOAD_CORE, name: 'load' });
}

export interface Timed<T> {
  readonly result: T;
  readonly otherCores: number;
  readonly attempts: number;
  /** Server CPU ms between the generator's marks: `echo` (the measured window), `all`, `room`. */
  readonly serverCpuMs: Record<string, number>;
  readonly failures: number;
  readonly lastFailure: string;
  /**
   * The load generator's CPU in cores (1 = its whole core: it may be the limit), over the
   * measured span (`start`…`end`) when the generator marks one, else over its whole run.
   */
  readonly loadCores: number;
}

/** CPU ms of `pid` and wall-clock ms between the generator's marks (`start`/`end` is span `echo`, …). */
export function watchMarks(
  load: ReturnType<typeof startLoad>,
  pid: number,
): () => Record<string, { cpuMs: number; wallMs: number }> {
  const seen = new Map<string, { ticks: number; at: number }>();
  load.process.on('message', (message: { type: string; label?: string }) => {
    if (message.type === 'mark' && message.label !== undefined) {
      seen.set(message.label, { ticks: processTicks(pid), at: performance.now() });
    }
  });
  return () => {
    const spans: Record<string, { cpuMs: number; wallMs: number }> = {};
    for (const [name, from, to] of [
      ['echo', 'start', 'end'],
      ['all', 'all-start', 'all-end'],
      ['room', 'room-start', 'room-end'],
    ] as const) {
      const start = seen.get(from);
      const end = seen.get(to);
      if (start === undefined || end === undefined) continue;
      spans[name] = { cpuMs: ((end.ticks - start.ticks) * 1000) / TICKS_PER_SECOND, wallMs: end.at - start.at };
    }
    return spans;
  };
}

/**
 * Runs a timed measurement (fresh server, fresh generator) until the machine was quiet
 * enough, at most MAX_ATTEMPTS times; keeps the attempt others disturbed least. With
 * `openFiles`, both processes' descriptor limits are raised to it first (scenario G).
 */
export async function timed<T>(
  target: Target,
  tag: string,
  spec: (port: number) => LoadSpec,
  openFiles?: number,
): Promise<Timed<T>> {
  let best: Omit<Timed<T>, 'attempts'> | undefined;
  let attempts = 0;
  while (attempts < MAX_ATTEMPTS) {
    attempts++;
    const server = await startServer(target);
    try {
      const load = startLoad(spec(server.port));
      if (openFiles !== undefined) for (const pid of [server.pid, load.pid]) raiseFdLimit(pid, openFiles);
      const window = cpuWindow([server.pid, load.pid]);
      const serverSpans = watchMarks(load, server.pid);
      const loadSpans = watchMarks(load, load.pid);
      try {
        const answer = await load.next<{ result: T; failures: number; lastFailure: string }>('result', 120_000);
        const { result } = answer;
        const { otherCores, cpuSeconds, seconds } = window.stop();
        const [serverCpu = 0, loadCpu = 0] = cpuSeconds;
        if (best === undefined || otherCores < best.otherCores) {
          best = {
            result,
            otherCores,
            serverCpuMs: Object.fromEntries(Object.entries(serverSpans()).map(([name, span]) => [name, span.cpuMs])),
            failures: answer.failures,
            lastFailure: answer.lastFailure,
            loadCores: measuredCores(loadSpans().echo) ?? (seconds > 0 ? loadCpu / seconds : 0),
          };
        }
        log(
          `  ${target.name} ${tag}: ${summarise(result)} (${seconds.toFixed(1)} s; CPU s: server ${serverCpu.toFixed(2)}, ` +
            `load ${loadCpu.toFixed(2)}, others ${(otherCores * seconds).toFixed(2)})`,
        );
      } finally {
        await load.stop();
      }
    } finally {
      await server.stop();
    }
    if (best.otherCores <= BUSY_CORES || Date.now() - runStartedAt > REPEAT_BUDGET_MS) break;
  }
  return { ...best!, attempts };
}

/** Cores over a marked span (the measured window of an echo or of G's rounds), if it is long enough to tell. */
function measuredCores(span: { cpuMs: number; wallMs: number } | undefined): number | undefined {
  return span === undefined || span.wallMs < 200 ? undefined : span.cpuMs / span.wallMs;
}

function summarise(result: unknown): string {
  return JSON.stringify(result, (_key, value: unknown) =>
    typeof value === 'number' ? Number(value.toFixed(2)) : value,
  );
}

/** Opens connections level by level and reads the server's RSS at each. */
export async function memoryCurve(target: Target, protocol: ProtocolName, levels: number[]) {
  const server = await startServer(target);
  try {
    // V8's memory reducer gives back start-up pages some 8 s after a process starts (15 MB
    // for Switchyard, 8 MB for raw ws here). Read before that, the idle figure would be too
    // high and every connection would seem that much cheaper.
    await sleep(SIZES.idleSettleMs);
    const idleMemory = await server.memory();
    const idle = idleMemory.rss;
    const load = startLoad({ kind: 'idle', protocol, port: server.port, levels });
    const perLevel: { connections: number; rss: number; kibPerConnection: number; heapKib: number }[] = [];
    try {
      for (let i = 0; i < levels.length; i++) {
        const { connections } = await load.next<{ connections: number }>('level', 180_000);
        await sleep(SIZES.settleMs);
        const { rss, heapUsed } = await server.memory();
        const heapKib = (heapUsed - idleMemory.heapUsed) / connections / 1024;
        perLevel.push({ connections, rss, kibPerConnection: (rss - idle) / connections / 1024, heapKib });
        load.send({ type: 'continue' });
      }
      await load.next('result', 60_000);
    } finally {
      await load.stop();
    }
    log(
      `  ${target.name} memory ${protocol}: idle ${(idle / 2 ** 20).toFixed(1)} MiB, ${perLevel.map((l) => `${l.connections}→${l.kibPerConnection.toFixed(1)} KiB (JS heap ${l.heapKib.toFixed(1)})`).join(', ')}`,
    );
    return { idle, perLevel };
  } finally {
    await server.stop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function log(line: string): void {
  process.stderr.write(line + '\n');
}

export function recordBusy(figures: Figures, key: string, timed: Timed<unknown>): void {
  figures.busy[key] = { otherCores: timed.otherCores, attempts: timed.attempts };
  figures.loadCores[key] = timed.loadCores;
  if (timed.failures > 0) figures.failures[key] = `${timed.failures} failed requests (last: ${timed.lastFailure})`;
}

/** Server CPU µs per unit of work in the span, or undefined. */
export function perUnit(timed: Timed<unknown>, span: string, units: number | undefined): number | undefined {
  const ms = timed.serverCpuMs[span];
  return ms === undefined || units === undefined || units === 0 ? undefined : (ms * 1000) / units;
}
