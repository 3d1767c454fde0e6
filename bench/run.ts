/**
 * `npm run bench`: Switchyard and its peers on this machine, in one run, scenario by
 * scenario (targets interleaved within each scenario), each server a fresh process on core 0
 * and each load generator a separate process on core 1. Prints one markdown table with every
 * figure and its ratio to Switchyard, and writes it to bench/results/<date>.md and latest.md.
 *
 * Environment: BENCH_QUICK=1 (short phases), BENCH_TARGETS=a,b (subset),
 * BENCH_SCENARIOS=A,B,C,D,E,F,G (subset; F runs every bench/cluster/*.ts, G goes to the machine's limits), BENCH_PROFILE=1 (--cpu-prof of the Switchyard server,
 * or of BENCH_PROFILE_TARGET, into bench/results/profiles/).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BENCH_DIR, isPinning } from './lib/child.js';
import { renderCluster, runClusterScripts } from './lib/cluster-scripts.js';
import { loadSummary } from './lib/machine.js';
import { machineLimits } from './lib/limits.js';
import { log, memoryCurve, perUnit, recordBusy, timed } from './lib/measure.js';
import { idleReach, sourceAddresses } from './lib/scale.js';
import { renderReport, type Figures, type Row } from './lib/report.js';
import type { EchoResult } from './load/main.js';
import type { ProtocolName } from './load/protocols.js';
import type { RoundsResult } from './load/reach.js';
import { BUSY_CORES, isQuick, SIZES } from './scenarios.js';
import { TARGETS, type Target } from './targets.js';

const selectedTargets = TARGETS.filter(
  (target) => process.env.BENCH_TARGETS === undefined || process.env.BENCH_TARGETS.split(',').includes(target.name),
);
const selectedScenarios = new Set((process.env.BENCH_SCENARIOS ?? 'A,B,C,D,E,F,G').split(','));
/** Runs `measure` for every target with a protocol, capturing failures as notes. */
async function eachTarget(
  scenario: string,
  pick: (target: Target) => ProtocolName | undefined,
  why: (target: Target) => string | undefined,
  rows: Map<string, Row>,
  measure: (target: Target, protocol: ProtocolName, figures: Figures) => Promise<void>,
  targets: readonly Target[] = selectedTargets,
): Promise<void> {
  log(`scenario ${scenario}`);
  for (const target of targets) {
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

/**
 * G: the cost curve to the machine's limits, for the targets marked `inScale` (Switchyard,
 * socket.io 4 and the limits): idle websockets toward 50 000, a broadcast to 10 000 clients
 * over rounds, the long-polling echo at 1000 sessions. Returns the report's notes on limits.
 */
async function scenarioG(rows: Map<string, Row>): Promise<string[]> {
  const targets = selectedTargets.filter((t) => t.inScale === true);
  const { levels, broadcast, pollEcho, perAddress, connectTimeoutMs } = SIZES.scale;
  const scale = (figures: Figures) => (figures.scale ??= {});
  const each = (scenario: string, kind: 'ws' | 'poll', measure: Parameters<typeof eachTarget>[4]) =>
    eachTarget(
      scenario,
      (t) => t[kind],
      (t) => t.notes?.[kind],
      rows,
      measure,
      targets,
    );
  await each('G idle', 'ws', async (target, protocol, figures) => {
    scale(figures).idle = await idleReach(target, protocol, levels);
  });
  await each('G broadcast', 'ws', async (target, protocol, figures) => {
    const sources = sourceAddresses(Math.ceil(broadcast.clients / perAddress));
    const spec = (port: number) =>
      ({ kind: 'rounds', protocol, port, sources, connectTimeoutMs, ...broadcast }) as const;
    const run = await timed<RoundsResult>(target, 'Gbcast', spec, broadcast.clients + 1024);
    scale(figures).broadcast = run.result;
    figures.cpu.Gbcast = perUnit(run, 'echo', run.result.rounds * run.result.clients);
    recordBusy(figures, 'Gbcast', run);
  });
  await each('G poll', 'poll', async (target, protocol, figures) => {
    const spec = (port: number) => ({ kind: 'echo', protocol, port, ...pollEcho }) as const;
    const run = await timed<EchoResult>(target, 'Gpoll', spec, pollEcho.clients * 2 + 1024);
    scale(figures).pollEcho = run.result;
    figures.cpu.Gpoll = perUnit(run, 'echo', run.result.roundTrips);
    recordBusy(figures, 'Gpoll', run);
  });
  return [machineLimits()];
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

  const limits = selectedScenarios.has('G') ? await scenarioG(rows) : [];

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
    limits,
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
