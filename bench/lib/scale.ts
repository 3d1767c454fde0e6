/**
 * Scenario G's idle curve: idle websockets level by level toward the machine's limits,
 * from several generator processes and local addresses, until a level fails; the server's
 * RSS per connection at every level reached, and what stopped the next one.
 */
import type { ProtocolName } from '../load/protocols.js';
import type { ReachResult } from '../load/reach.js';
import { SIZES } from '../scenarios.js';
import type { Target } from '../targets.js';
import type { Child } from './child.js';
import { fdLimit, openFds, raiseFdLimit } from './limits.js';
import { log, sleep, startLoad, startServer, type Server } from './measure.js';

export interface ReachCurve {
  readonly idle: number;
  readonly perLevel: { connections: number; kibPerConnection: number; heapKib: number }[];
  /** The last level every connection of which opened (0: none). */
  readonly highest: number;
  /** The level that failed, the connections open when it did, and why; absent when all passed. */
  readonly stopped?: { readonly level: number; readonly connections: number; readonly reason: string };
  readonly generators: number;
  /** The open-file limit the server and generators ran with, and why not the one wanted. */
  readonly fdLimits: string;
}

/** Local addresses 127.0.0.2… (127.0.0.1 is the server's), `count` of them. */
export function sourceAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`);
}

/** Generator `g`'s share of `total` among `n` (the first ones take the remainder). */
function share(total: number, n: number, g: number): number {
  return Math.floor(total / n) + (g < total % n ? 1 : 0);
}

/** A level's bound: every connect is bounded (SIZES.scale.connectTimeoutMs) and a level stops at its first error. */
const LEVEL_TIMEOUT_MS = 300_000;

interface Crash {
  message?: string;
}

/** Records what the server says when it crashes (servers/behaviour.ts), and its exit. */
function watchCrash(server: Server): Crash {
  const crash: Crash = {};
  server.child.process.on('message', (message: { type: string; message?: string }) => {
    if (message.type === 'crashed') crash.message = message.message;
  });
  server.child.process.once('exit', (code, signal) => {
    crash.message ??= `the server exited (${signal ?? code})`;
  });
  return crash;
}

/** Why a level failed: the generators' first errors, and the descriptors each side held. */
function stopReason(errors: string[], crash: Crash, server: Server, generators: Child[]): string {
  const fds = (pid: number) => {
    const open = openFds(pid);
    const limit = fdLimit(pid)?.soft;
    // At its limit a process's accept or connect fails with EMFILE (libuv then closes the
    // pending connection: the client sees a reset).
    const isFull = open !== undefined && limit !== undefined && open >= limit - 8;
    return `${open ?? 'gone'} of ${limit ?? '?'} fds${isFull ? ' (at its open-file limit)' : ''}`;
  };
  const parts = [...new Set(errors)].slice(0, 2);
  parts.push(`server: ${crash.message !== undefined ? crash.message : fds(server.pid)}`);
  parts.push(`generators: ${generators.map((g) => fds(g.pid)).join(', ')}`);
  return parts.join('; ');
}

/** A generator's report of a level; a generator that failed or exited counts as none open. */
function levelReport(generator: Child): Promise<{ connections: number; error?: string }> {
  return generator
    .next<{ connections: number; error?: string }>('level', LEVEL_TIMEOUT_MS)
    .catch((error: unknown) => ({ connections: 0, error: error instanceof Error ? error.message : String(error) }));
}

/** Descriptors a process keeps besides its connections (its own files, pipes, the listener). */
const FD_MARGIN = 1024;

/**
 * The levels to try: the given ones and, when the server's open-file limit is below the
 * highest, the last round thousand under that limit too, so that the curve goes as far as
 * the machine allows before the next level shows what stops it.
 */
export function plannedLevels(levels: readonly number[], serverLimit: number): number[] {
  const cap = Math.floor((serverLimit - FD_MARGIN) / 1000) * 1000;
  if (cap <= 0 || cap >= Math.max(...levels) || levels.includes(cap)) return [...levels];
  return [...levels, cap].sort((a, b) => a - b);
}

/** Starts `count` reach generators, each with its share of every level and its own addresses. */
function startGenerators(protocol: ProtocolName, port: number, levels: number[], count: number): Child[] {
  const { perAddress, perGenerator, connectTimeoutMs } = SIZES.scale;
  const top = Math.max(...levels);
  const sources = sourceAddresses(Math.max(count, Math.ceil(top / perAddress)));
  return Array.from({ length: count }, (_, g) => {
    const generator = startLoad({
      kind: 'reach',
      protocol,
      port,
      levels: levels.map((level) => share(level, count, g)),
      sources: sources.filter((_, i) => i % count === g),
      connectTimeoutMs,
    });
    // Raised before its first batch is out: a generator takes about a second to start.
    raiseFdLimit(generator.pid, perGenerator + FD_MARGIN);
    return generator;
  });
}

/** Each level in turn: the server's RSS per connection, until a level fails. */
async function climb(server: Server, idle: { rss: number; heapUsed: number }, generators: Child[], levels: number[]) {
  const crash = watchCrash(server);
  const perLevel: ReachCurve['perLevel'] = [];
  let stopped: ReachCurve['stopped'];
  for (const level of levels) {
    const reports = await Promise.all(generators.map(levelReport));
    const connections = reports.reduce((sum, r) => sum + r.connections, 0);
    const errors = reports.flatMap((r) => (r.error === undefined ? [] : [r.error]));
    if (errors.length > 0 || connections < level) {
      stopped = { level, connections, reason: stopReason(errors, crash, server, generators) };
    } else {
      await sleep(SIZES.settleMs);
      const { rss, heapUsed } = await server.memory();
      const kibPerConnection = (rss - idle.rss) / connections / 1024;
      perLevel.push({ connections, kibPerConnection, heapKib: (heapUsed - idle.heapUsed) / connections / 1024 });
    }
    for (const g of generators) g.send({ type: 'continue', stop: stopped !== undefined });
    if (stopped !== undefined) break;
  }
  await Promise.allSettled(generators.map((g) => g.next<{ result: ReachResult }>('result', 120_000)));
  return { perLevel, stopped };
}

export async function idleReach(target: Target, protocol: ProtocolName, given: number[]): Promise<ReachCurve> {
  const top = Math.max(...given);
  const count = Math.ceil(top / SIZES.scale.perGenerator);
  const server = await startServer(target);
  let generators: Child[] = [];
  try {
    const serverLimit = raiseFdLimit(server.pid, top + FD_MARGIN);
    const levels = plannedLevels(given, serverLimit.limit);
    await sleep(SIZES.idleSettleMs);
    const idle = await server.memory();
    generators = startGenerators(protocol, server.port, levels, count);
    const fdLimits =
      `server ${serverLimit.limit}, generators ${generators.map((g) => fdLimit(g.pid)?.soft ?? '?').join('/')}` +
      (serverLimit.refused === undefined
        ? ''
        : ` (prlimit could not raise them to ${top + FD_MARGIN}: ${serverLimit.refused})`);
    const { perLevel, stopped } = await climb(server, idle, generators, levels);
    const highest = perLevel[perLevel.length - 1]?.connections ?? 0;
    log(
      `  ${target.name} G idle ${protocol}: idle ${(idle.rss / 2 ** 20).toFixed(1)} MiB, ` +
        `${perLevel.map((l) => `${l.connections}→${l.kibPerConnection.toFixed(1)} KiB`).join(', ')}; ` +
        `${stopped === undefined ? 'every level reached' : `${stopped.level} failed at ${stopped.connections} open: ${stopped.reason}`} ` +
        `(${count} generators, fd limits ${fdLimits})`,
    );
    return { idle: idle.rss, perLevel, highest, stopped, generators: count, fdLimits };
  } finally {
    await Promise.all(generators.map((g) => g.stop()));
    await server.stop();
  }
}
