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

/** Raises every process's open-file limit; one line on what was granted. */
function raiseAll(server: Server, generators: Child[], wanted: number): string {
  const serverLimit = raiseFdLimit(server.pid, wanted + 1024);
  const loadLimits = generators.map((g) => raiseFdLimit(g.pid, SIZES.scale.perGenerator + 1024));
  const refused = [serverLimit, ...loadLimits].find((l) => l.refused !== undefined)?.refused;
  return (
    `server ${serverLimit.limit}, generators ${loadLimits.map((l) => l.limit).join('/')}` +
    (refused === undefined ? '' : ` (prlimit could not raise them to ${wanted + 1024}: ${refused})`)
  );
}

export async function idleReach(target: Target, protocol: ProtocolName, levels: number[]): Promise<ReachCurve> {
  const { perGenerator, perAddress, connectTimeoutMs } = SIZES.scale;
  const top = Math.max(...levels);
  const count = Math.ceil(top / perGenerator);
  const sources = sourceAddresses(Math.max(count, Math.ceil(top / perAddress)));
  const server = await startServer(target);
  const crash = watchCrash(server);
  const generators: Child[] = [];
  try {
    await sleep(SIZES.idleSettleMs);
    const idleMemory = await server.memory();
    for (let g = 0; g < count; g++) {
      generators.push(
        startLoad({
          kind: 'reach',
          protocol,
          port: server.port,
          levels: levels.map((level) => share(level, count, g)),
          sources: sources.filter((_, i) => i % count === g),
          connectTimeoutMs,
        }),
      );
    }
    const fdLimits = raiseAll(server, generators, top);
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
        const kibPerConnection = (rss - idleMemory.rss) / connections / 1024;
        perLevel.push({
          connections,
          kibPerConnection,
          heapKib: (heapUsed - idleMemory.heapUsed) / connections / 1024,
        });
      }
      for (const g of generators) g.send({ type: 'continue', stop: stopped !== undefined });
      if (stopped !== undefined) break;
    }
    await Promise.allSettled(generators.map((g) => g.next<{ result: ReachResult }>('result', 120_000)));
    const highest = perLevel[perLevel.length - 1]?.connections ?? 0;
    log(
      `  ${target.name} G idle ${protocol}: idle ${(idleMemory.rss / 2 ** 20).toFixed(1)} MiB, ` +
        `${perLevel.map((l) => `${l.connections}→${l.kibPerConnection.toFixed(1)} KiB`).join(', ')}; ` +
        `${stopped === undefined ? 'every level reached' : `${stopped.level} failed at ${stopped.connections} open: ${stopped.reason}`} ` +
        `(${count} generators, fd limits ${fdLimits})`,
    );
    return { idle: idleMemory.rss, perLevel, highest, stopped, generators: count, fdLimits };
  } finally {
    await Promise.all(generators.map((g) => g.stop()));
    await server.stop();
  }
}
