/** The markdown report: one table of figures with ratios to Switchyard, the cost curve, the targets. */
import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import type { EchoResult, FanoutResult } from '../load/main.js';
import type { RoundsResult } from '../load/reach.js';
import { BASE_TARGET, type Target } from '../targets.js';
import { goals } from './goals.js';
import { machineSummary } from './machine.js';
import type { ReachCurve } from './scale.js';

interface MemoryCurve {
  readonly idle: number;
  readonly perLevel: readonly { connections: number; rss: number; kibPerConnection: number }[];
}

export interface Figures {
  echoWs?: EchoResult;
  echoPoll?: EchoResult;
  fanout?: FanoutResult;
  idleWs?: MemoryCurve;
  idlePoll?: MemoryCurve;
  curve?: Record<number, EchoResult>;
  /** G: idle websockets toward the limits, the broadcast to many over rounds, the poll echo at many. */
  scale?: { idle?: ReachCurve; broadcast?: RoundsResult; pollEcho?: EchoResult };
  busy: Record<string, { otherCores: number; attempts: number }>;
  failures: Record<string, string>;
  /** Server CPU µs per round trip (A, B) or per delivery (C, Croom), inside the measured span. */
  cpu: { A?: number; B?: number; C?: number; Croom?: number; Gbcast?: number; Gpoll?: number };
  /** The load generator's CPU in cores (1 = its whole core), by scenario (A, B, C, E<n>, Gbcast, Gpoll). */
  loadCores: Record<string, number>;
}

export interface Row {
  readonly target: Target;
  readonly figures: Figures;
  readonly notes: string[];
}

export interface ReportInput {
  readonly rows: readonly Row[];
  readonly startedAt: Date;
  readonly seconds: number;
  readonly loadAtStart: string;
  readonly loadAtEnd: string;
  readonly isQuick: boolean;
  readonly isPinned: boolean;
  readonly busyCores: number;
  /** Scenario F's section (the cluster scripts' tables), or empty. */
  readonly cluster: readonly string[];
  /** G's lines on the machine's limits (open files, ports), or empty when G did not run. */
  readonly limits: readonly string[];
}

type Pick = (figures: Figures) => number | undefined;

const last = (curve: MemoryCurve | undefined) => curve?.perLevel[curve.perLevel.length - 1];

const COLUMNS: { title: string; pick: Pick; digits: number }[] = [
  { title: 'A ws echo rt/s', pick: (f) => f.echoWs?.perSecond, digits: 0 },
  { title: 'A p50 ms', pick: (f) => f.echoWs?.p50Ms, digits: 2 },
  { title: 'A p99 ms', pick: (f) => f.echoWs?.p99Ms, digits: 2 },
  { title: 'A server CPU µs/rt', pick: (f) => f.cpu.A, digits: 1 },
  { title: 'B poll echo rt/s', pick: (f) => f.echoPoll?.perSecond, digits: 0 },
  { title: 'B p50 ms', pick: (f) => f.echoPoll?.p50Ms, digits: 2 },
  { title: 'B p99 ms', pick: (f) => f.echoPoll?.p99Ms, digits: 2 },
  { title: 'B server CPU µs/rt', pick: (f) => f.cpu.B, digits: 1 },
  { title: 'C broadcast deliveries/s', pick: (f) => f.fanout?.all?.perSecond, digits: 0 },
  { title: 'C last delivery ms', pick: (f) => f.fanout?.all?.lastMs, digits: 0 },
  { title: 'C server CPU µs/delivery', pick: (f) => f.cpu.C, digits: 2 },
  { title: 'C room deliveries/s', pick: (f) => f.fanout?.room?.perSecond, digits: 0 },
  { title: 'C room last ms', pick: (f) => f.fanout?.room?.lastMs, digits: 1 },
  { title: 'C room server CPU µs/delivery', pick: (f) => f.cpu.Croom, digits: 2 },
  {
    title: 'D idle RSS MiB',
    pick: (f) => (f.idleWs ?? f.idlePoll)?.idle && (f.idleWs ?? f.idlePoll)!.idle / 2 ** 20,
    digits: 1,
  },
  { title: 'D KiB / idle ws', pick: (f) => last(f.idleWs)?.kibPerConnection, digits: 1 },
  { title: 'D KiB / idle poll session', pick: (f) => last(f.idlePoll)?.kibPerConnection, digits: 1 },
];

function format(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(value: number | undefined, base: number | undefined, digits: number): string {
  const text = format(value, digits);
  if (value === undefined || base === undefined || !Number.isFinite(value) || !(base > 0)) return text;
  return `${text} (${(value / base).toFixed(2)})`;
}

function table(header: string[], lines: string[][]): string {
  return [header, header.map(() => '---'), ...lines].map((line) => `| ${line.join(' | ')} |`).join('\n');
}

function versions(): string {
  // Read from node_modules: some packages (engine.io) do not export their package.json.
  const version = (name: string) => {
    const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  };
  return `ws ${version('ws')}, socket.io ${version('socket.io')}, engine.io ${version('engine.io')}, sockjs ${version('sockjs')}, socket.io 0.6 ${version('socket.io-legacy')}`;
}

function maxBusy(figures: Figures): number {
  return Math.max(0, ...Object.values(figures.busy).map((b) => b.otherCores));
}

function mainTable(rows: readonly Row[]): string {
  const base = rows.find((row) => row.target.name === BASE_TARGET)?.figures;
  const lines = rows.map((row) => [
    row.target.label,
    ...COLUMNS.map((column) => cell(column.pick(row.figures), base && column.pick(base), column.digits)),
    maxBusy(row.figures).toFixed(2),
  ]);
  return table(['target', ...COLUMNS.map((c) => c.title), 'others' + "'" + ' CPU (cores, max)'], lines);
}

/** The load generator's CPU by scenario: near 1 core, the generator may be what limits a figure. */
function loadTable(rows: readonly Row[]): string {
  const keys = [...new Set(rows.flatMap((row) => Object.keys(row.figures.loadCores)))];
  const lines = rows.map((row) => [row.target.label, ...keys.map((key) => format(row.figures.loadCores[key], 2))]);
  return table(['target', ...keys.map((key) => `${key} generator CPU (cores)`)], lines);
}

function curveTable(rows: readonly Row[]): string {
  const echoLevels = [...new Set(rows.flatMap((row) => Object.keys(row.figures.curve ?? {}).map(Number)))];
  const withA = [...new Set([...echoLevels, 50])].sort((a, b) => a - b);
  const wsLevels = [...new Set(rows.flatMap((r) => r.figures.idleWs?.perLevel.map((l) => l.connections) ?? []))];
  const pollLevels = [...new Set(rows.flatMap((r) => r.figures.idlePoll?.perLevel.map((l) => l.connections) ?? []))];
  const rt = (f: Figures, n: number) => (n === 50 && f.curve?.[50] === undefined ? f.echoWs : f.curve?.[n])?.perSecond;
  const kib = (curve: MemoryCurve | undefined, n: number) =>
    curve?.perLevel.find((l) => l.connections === n)?.kibPerConnection;
  const lines = rows.map((row) => [
    row.target.label,
    ...withA.map((n) => format(rt(row.figures, n), 0)),
    ...wsLevels.map((n) => format(kib(row.figures.idleWs, n), 1)),
    ...pollLevels.map((n) => format(kib(row.figures.idlePoll, n), 1)),
  ]);
  return table(
    [
      'target',
      ...withA.map((n) => `rt/s @${n} ws`),
      ...wsLevels.map((n) => `KiB/ws @${n}`),
      ...pollLevels.map((n) => `KiB/poll @${n}`),
    ],
    lines,
  );
}

/** `isRatio: false`: a column without a ratio to Switchyard (the generator's CPU is not the server's). */
const SCALE_COLUMNS: { title: string; pick: Pick; digits: number; isRatio?: false }[] = [
  { title: 'G broadcast deliveries/s', pick: (f) => f.scale?.broadcast?.perSecond, digits: 0 },
  { title: 'G broadcast p50 ms', pick: (f) => f.scale?.broadcast?.p50Ms, digits: 1 },
  { title: 'G broadcast p99 ms', pick: (f) => f.scale?.broadcast?.p99Ms, digits: 1 },
  { title: 'G broadcast server CPU µs/delivery', pick: (f) => f.cpu.Gbcast, digits: 2 },
  { title: 'G broadcast generator CPU', pick: (f) => f.loadCores.Gbcast, digits: 2, isRatio: false },
  { title: 'G poll echo rt/s', pick: (f) => f.scale?.pollEcho?.perSecond, digits: 0 },
  { title: 'G poll p99 ms', pick: (f) => f.scale?.pollEcho?.p99Ms, digits: 1 },
  { title: 'G poll server CPU µs/rt', pick: (f) => f.cpu.Gpoll, digits: 1 },
  { title: 'G poll generator CPU', pick: (f) => f.loadCores.Gpoll, digits: 2, isRatio: false },
];

/** G: KiB per idle websocket at each level, the highest level reached, then the timed figures. */
function scaleSection(rows: readonly Row[]): string[] {
  const measured = rows.filter((row) => row.figures.scale !== undefined);
  if (measured.length === 0) return [];
  const base = rows.find((row) => row.target.name === BASE_TARGET)?.figures;
  const levels = [
    ...new Set(measured.flatMap((r) => r.figures.scale?.idle?.perLevel.map((l) => l.connections) ?? [])),
  ].sort((a, b) => a - b);
  const kib = (f: Figures | undefined, n: number) =>
    f?.scale?.idle?.perLevel.find((l) => l.connections === n)?.kibPerConnection;
  const lines = measured.map((row) => {
    const idle = row.figures.scale?.idle;
    return [
      row.target.label,
      ...levels.map((n) => cell(kib(row.figures, n), kib(base, n), 1)),
      idle === undefined ? '—' : format(idle.highest, 0),
      idle?.stopped === undefined
        ? '—'
        : `${format(idle.stopped.level, 0)} (${format(idle.stopped.connections, 0)} open)`,
      ...SCALE_COLUMNS.map((column) =>
        cell(column.pick(row.figures), column.isRatio === false ? undefined : base && column.pick(base), column.digits),
      ),
    ];
  });
  const header = [
    'target',
    ...levels.map((n) => `KiB/idle ws @${n}`),
    'highest idle level',
    'failed level',
    ...SCALE_COLUMNS.map((c) => c.title),
  ];
  const stops = measured.flatMap((row) => {
    const idle = row.figures.scale?.idle;
    if (idle === undefined) return [];
    const what =
      idle.stopped === undefined ? 'every level reached' : `stopped at ${idle.stopped.level}: ${idle.stopped.reason}`;
    return [
      `- ${row.target.label}: ${what} (${idle.generators} generator processes; open-file limits ${idle.fdLimits})`,
    ];
  });
  const broadcast = measured.find((row) => row.figures.scale?.broadcast !== undefined)?.figures.scale?.broadcast;
  const about = [
    'Idle websockets level by level, from several generator processes and local addresses 127.0.0.x, until a level',
    'fails (KiB per connection: server RSS over its idle RSS, after two collections, as in D; a server open-file limit',
    'below the highest level adds a level just under it);',
    `${broadcast === undefined ? 'a broadcast' : `one 100 B broadcast to ${broadcast.clients} websockets, ${broadcast.rounds} rounds`}`,
    '(deliveries/s over the rounds; p50 and p99 over rounds of the time from the trigger to the last client’s message);',
    'the long-polling echo of B with more sessions. Generator CPU in cores: near 1.00 the generator may be the limit.',
  ];
  return ['', '### Cost curve to the limits (G)', '', ...about, '', table(header, lines), '', ...stops];
}

export function renderReport(input: ReportInput): string {
  const { rows } = input;
  const notes = rows.flatMap((row) => [
    ...row.notes.map((note) => `- ${row.target.label} — ${note}`),
    ...Object.entries(row.figures.failures).map(([key, text]) => `- ${row.target.label} — ${key}: ${text}`),
  ]);
  for (const row of rows) {
    for (const [key, busy] of Object.entries(row.figures.busy)) {
      if (busy.otherCores > input.busyCores) {
        notes.push(
          `- ${row.target.label} — ${key}: other processes used ${busy.otherCores.toFixed(2)} cores even at the quietest of ${busy.attempts} attempts`,
        );
      } else if (busy.attempts > 1) {
        notes.push(
          `- ${row.target.label} — ${key}: repeated (${busy.attempts} attempts) because other processes were busy`,
        );
      }
    }
  }
  return [
    `## Benchmark ${input.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC${input.isQuick ? ' (BENCH_QUICK: short phases, not comparable)' : ''}`,
    '',
    `Machine: ${machineSummary()}, ${platform()} ${arch()}; Node ${process.version}; ${versions()}.`,
    `Server ${input.isPinned ? 'pinned to core 0, load generator to core 1 (taskset)' : 'and load generator not pinned (no taskset)'}; 127.0.0.1 only.`,
    `Load average (1/5/15 min) at start ${input.loadAtStart}, at end ${input.loadAtEnd}; the run took ${Math.round(input.seconds)} s.`,
    `A timed measurement is repeated (up to 3 attempts, the quietest kept, no repeats after 9 minutes) when other processes used more than ${input.busyCores} cores.`,
    'The server CPU columns (µs of server CPU time per round trip or delivery) depend least on how busy the machine was.',
    '',
    'Each figure is followed by its ratio to Switchyard (the legacy websocket / xhr-polling row) in the same column',
    '(target ÷ Switchyard): above 1 is more throughput, latency, time or memory than Switchyard; the sac-sock and',
    'plain endpoint rows are compared with it too. A: 50 websocket clients, sequential 64 B round trips.',
    'B: 50 long-polling sessions, each on two keep-alive connections (one holds the poll, one carries the sends); a round',
    'trip is a send answered and the poll answer with its echo, one send in flight per session (raw node:http: a POST',
    'and a GET per round trip, so its round trips/s are its requests/s ÷ 2). C: 1000 websocket clients, 100 messages of 100 B to all, then 5 times to a room',
    'of 100 (deliveries/s over the 5 rounds, last ms their median).',
    'D: server RSS idle, and per connection with 5000 idle websockets / 1000 idle polling sessions.',
    'Server CPU is read from /proc in 10 ms ticks: the room column (50 000 deliveries) resolves to 0.2 µs only. KiB per',
    'connection at 10 and 100 connections is below the resolution of RSS (a collection can free more than they add).',
    '',
    mainTable(rows),
    '',
    '### Cost curve (E): echo round trips/s and KiB per connection by connection count',
    '',
    curveTable(rows),
    '',
    '### Load generator CPU',
    '',
    'Cores the load generator used during each timed measurement (over its measured window where it marks one; it has one core of its own; near 1.00 it may',
    'be what limits the figure).',
    '',
    loadTable(rows),
    '',
    '### Targets',
    '',
    ...goals(rows),
    ...scaleSection(rows),
    ...input.limits.map((line) => `- Machine limits: ${line}.`),
    ...(input.cluster.length > 0 ? ['', ...input.cluster] : []),
    ...(notes.length > 0 ? ['', '### Notes', '', ...notes] : []),
  ].join('\n');
}
