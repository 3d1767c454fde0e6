/**
 * `npm run bench`: Switchyard and its peers on this machine, in one run, scenario by
 * scenario (targets interleaved within each scenario), each server a fresh process on core 0
 * and each load generator a separate process on core 1. Prints one markdown table with every
 * figure and its ratio to Switchyard, and writes it to bench/results/<date>.md and latest.md.
 *
 * Environment: BENCH_QUICK=1 (short phases), BENCH_TARGETS=a,b (subset),
 * BENCH_SCENARIOS=A,B,C,D,E,F (subset; F runs every bench/cluster/*.ts), BENCH_PROFILE=1 (--cpu-prof of the Switchyard server,
 * or of BENCH_PROFILE_TARGET, into bench/results/profiles/).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BENCH_DIR, isPinning, spawnChild } from './lib/child.js';
import { renderCluster, runClusterScripts } from './lib/cluster-scripts.js';
import { cpuWindow, loadSummary, processTicks, TICKS_PER_SECOND } from './lib/machine.js';
import { renderReport, type Figures, type Row } from './lib/report.js';
import type { LoadSpec } from './load/main.js';
import type { ProtocolName } from './load/protocols.js';
import { BUSY_CORES, isQuick, MAX_ATTEMPTS, REPEAT_BUDGET_MS, SIZES } from './scenarios.js';
import { TARGETS, type Target } from './targets.js';

const SERVER_CORE = 0;
const LOAD_CORE = 1;
const READY_TIMEOUT_MS = 20_000;

const selectedTargets = TARGETS.filter(
  (target) => process.env.BENCH_TARGETS === undefined || process.env.BENCH_TARGETS.split(',').includes(target.name),
);
const selectedScenarios = new Set((process.env.BENCH_SCENARIOS ?? 'A,B,C,D,E,F').split(','));
const profileDir = join(BENCH_DIR, 'results', 'profiles');
const runStartedAt = Date.now();

interface Server {
  port: number;
  pid: number;
  /** RSS in bytes; the JS heap in use is logged alongside. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  stop(): Promise<void>;
}

async function startServer(target: Target): Promise<Server> {
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
    async memory() {
      child.send({ type: 'memory' });
      return child.next<{ rss: number; heapUsed: number }>('memory', 10_000);
    },
    stop: () => child.stop(),
  };
}

function startLoad(spec: LoadSpec) {
  return spawnChild({ file: 'load/main.ts', args: [JSON.stringify(spec)], core: LOAD_CORE, name: 'load' });
}

interface Timed<T> {
  readonly result: T;
  readonly otherCores: number;
  readonly attempts: number;
  /** Server CPU ms between the generator's marks: `echo` (the measured window), `all`, `room`. */
  readonly serverCpuMs: Record<string, number>;
  readonly failures: number;
  readonly lastFailure: string;
  /** The load generator's CPU over the measurement, in cores (1 = its whole core: it may be the limit). */
  readonly loadCores: number;
}

/** The server's CPU time at each mark the generator sends (`start`/`end`, `all-start`/`all-end`, …). */
function watchMarks(load: ReturnType<typeof startLoad>, serverPid: number): () => Record<string, number> {
  const ticks = new Map<string, number>();
  load.process.on('message', (message: { type: string; label?: string }) => {
    if (message.type === 'mark' && message.label !== undefined) ticks.set(message.label, processTicks(serverPid));
  });
  return () => {
    const spans: Record<string, number> = {};
    for (const [name, from, to] of [
      ['echo', 'start', 'end'],
      ['all', 'all-start', 'all-end'],
      ['room', 'room-start', 'room-end'],
    ] as const) {
      const start = ticks.get(from);
      const end = ticks.get(to);
      if (start !== undefined && end !== undefined) spans[name] = ((end - start) * 1000) / TICKS_PER_SECOND;
    }
    return spans;
  };
}

/**
 * Runs a timed measurement (fresh server, fresh generator) until the machine was quiet
 * enough, at most MAX_ATTEMPTS times; keeps the attempt others disturbed least.
 */
async function timed<T>(target: Target, tag: string, spec: (port: number) => LoadSpec): Promise<Timed<T>> {
  let best: Omit<Timed<T>, 'attempts'> | undefined;
  let attempts = 0;
  while (attempts < MAX_ATTEMPTS) {
    attempts++;
    const server = await startServer(target);
    try {
      const load = startLoad(spec(server.port));
      const window = cpuWindow([server.pid, load.pid]);
      const serverSpans = watchMarks(load, server.pid);
      try {
        const answer = await load.next<{ result: T; failures: number; lastFailure: string }>('result', 120_000);
        const { result } = answer;
        const { otherCores, cpuSeconds, seconds } = window.stop();
        const [serverCpu = 0, loadCpu = 0] = cpuSeconds;
        if (best === undefined || otherCores < best.otherCores) {
          best = {
            result,
            otherCores,
            serverCpuMs: serverSpans(),
            failures: answer.failures,
            lastFailure: answer.lastFailure,
            loadCores: seconds > 0 ? loadCpu / seconds : 0,
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

function summarise(result: unknown): string {
  return JSON.stringify(result, (_key, value: unknown) =>
    typeof value === 'number' ? Number(value.toFixed(2)) : value,
  );
}

/** Opens connections level by level and reads the server's RSS at each. */
async function memoryCurve(target: Target, protocol: ProtocolName, levels: number[]) {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function log(line: string): void {
  process.stderr.write(line + '\n');
}

/** Runs `measure` for every target with a protocol, capturing failures as notes. */
async function eachTarget(
  scenario: string,
  pick: (target: Target) => ProtocolName | undefined,
  why: (target: Target) => string | undefined,
  rows: Map<string, Row>,
  measure: (target: Target, protocol: ProtocolName, figures: Figures) => Promise<void>,
): Promise<void> {
  log(`scenario ${scenario}`);
  for (const target of selectedTargets) {
    const row = rows.get(target.name)!;
    const protocol = pick(target);
    if (protocol === undefined) {
      row.notes.push(`${scenario}: n/a (${why(target) ?? 'not applicable'})`);
      continue;
    }
    try {
      await measure(target, protocol, row.figures);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      row.notes.push(`${scenario}: could not run (${message})`);
      log(`  ${target.name} ${scenario} failed: ${message}`);
    }
  }
}

function recordBusy(figures: Figures, key: string, timed: Timed<unknown>): void {
  figures.busy[key] = { otherCores: timed.otherCores, attempts: timed.attempts };
  figures.loadCores[key] = timed.loadCores;
  if (timed.failures > 0) figures.failures[key] = `${timed.failures} failed requests (last: ${timed.lastFailure})`;
}

/** Server CPU µs per unit of work in the span, or undefined. */
function perUnit(timed: Timed<unknown>, span: string, units: number | undefined): number | undefined {
  const ms = timed.serverCpuMs[span];
  return ms === undefined || units === undefined || units === 0 ? undefined : (ms * 1000) / units;
}

/** Compiles src/ to dist/ for the targets that run the build. */
function build(): void {
  if (!selectedTargets.some((target) => target.needsBuild === true)) return;
  log('building dist/ (tsc -p tsconfig.build.json)');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: join(BENCH_DIR, '..'), stdio: 'inherit' });
}

async function main(): Promise<void> {
  build();
  const startedAt = new Date();
  const loadAtStart = loadSummary();
  const rows = new Map<string, Row>(
    selectedTargets.map((t) => [
      t.name,
      { target: t, figures: { busy: {}, failures: {}, cpu: {}, loadCores: {} }, notes: [] },
    ]),
  );
  const ws = (t: Target) => t.ws;
  const poll = (t: Target) => t.poll;
  const wsWhy = (t: Target) => t.notes?.ws;
  const pollWhy = (t: Target) => t.notes?.poll;

  if (selectedScenarios.has('A')) {
    await eachTarget('A', ws, wsWhy, rows, async (target, protocol, figures) => {
      const run = await timed<import('./load/main.js').EchoResult>(target, 'A', (port) => ({
        kind: 'echo',
        protocol,
        port,
        ...SIZES.echoWs,
      }));
      figures.echoWs = run.result;
      figures.cpu.A = perUnit(run, 'echo', run.result.roundTrips);
      recordBusy(figures, 'A', run);
    });
  }
  if (selectedScenarios.has('B')) {
    await eachTarget('B', poll, pollWhy, rows, async (target, protocol, figures) => {
      const run = await timed<import('./load/main.js').EchoResult>(target, 'B', (port) => ({
        kind: 'echo',
        protocol,
        port,
        ...SIZES.echoPoll,
      }));
      figures.echoPoll = run.result;
      figures.cpu.B = perUnit(run, 'echo', run.result.roundTrips);
      recordBusy(figures, 'B', run);
    });
  }
  if (selectedScenarios.has('C')) {
    await eachTarget('C', ws, wsWhy, rows, async (target, protocol, figures) => {
      const run = await timed<import('./load/main.js').FanoutResult>(target, 'C', (port) => ({
        kind: 'fanout',
        protocol,
        port,
        ...SIZES.fanout,
      }));
      figures.fanout = run.result;
      const { clients, messages, roomSize, roomRepeats } = SIZES.fanout;
      figures.cpu.C = perUnit(run, 'all', run.result.all === null ? undefined : clients * messages);
      figures.cpu.Croom = perUnit(
        run,
        'room',
        run.result.room === null ? undefined : roomSize * messages * roomRepeats,
      );
      recordBusy(figures, 'C', run);
    });
  }
  if (selectedScenarios.has('D') || selectedScenarios.has('E')) {
    await eachTarget('D websocket', ws, wsWhy, rows, async (target, protocol, figures) => {
      figures.idleWs = await memoryCurve(target, protocol, SIZES.idleWs.levels);
    });
    const pollSessions = (t: Target) => (t.hasPollSessions === false ? undefined : t.poll);
    const pollSessionsWhy = (t: Target) => t.notes?.idlePoll ?? t.notes?.poll;
    await eachTarget('D polling', pollSessions, pollSessionsWhy, rows, async (target, protocol, figures) => {
      figures.idlePoll = await memoryCurve(target, protocol, SIZES.idlePoll.levels);
    });
  }
  if (selectedScenarios.has('E')) {
    await eachTarget('E', ws, wsWhy, rows, async (target, protocol, figures) => {
      figures.curve = {};
      for (const clients of SIZES.curve.levels) {
        const { warmupMs, durationMs } = SIZES.curve;
        const run = await timed<import('./load/main.js').EchoResult>(target, `E${clients}`, (port) => ({
          kind: 'echo',
          protocol,
          port,
          clients,
          warmupMs,
          durationMs,
          payloadBytes: SIZES.echoWs.payloadBytes,
        }));
        figures.curve[clients] = run.result;
        recordBusy(figures, `E${clients}`, run);
      }
    });
  }

  // F: the cluster scripts, after every single-process scenario (they start several processes).
  let cluster: string[] = [];
  if (selectedScenarios.has('F')) {
    log('scenario F');
    cluster = renderCluster(await runClusterScripts(log));
  }

  const report = renderReport({
    rows: [...rows.values()],
    startedAt,
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    loadAtStart,
    loadAtEnd: loadSummary(),
    isQuick,
    isPinned: isPinning(),
    busyCores: BUSY_CORES,
    cluster,
  });
  process.stdout.write(report + '\n');
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  // Only a full run (every target and scenario, full length) becomes a dated result.
  const isFull = !isQuick && process.env.BENCH_TARGETS === undefined && process.env.BENCH_SCENARIOS === undefined;
  const stamp = startedAt.toISOString().slice(0, 16).replace(':', '');
  writeFileSync(join(dir, isFull ? `${stamp}.md` : 'partial.md'), report + '\n');
  if (isFull) writeFileSync(join(dir, 'latest.md'), report + '\n');
}

await main();
