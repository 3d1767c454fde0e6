/**
 * The `switchyard` command with `--workers N`, as an operator runs it: a child process of the
 * test file's own (`node --import tsx src/cli.ts`, a node:cluster primary that forks its
 * workers) on an ephemeral port, against a Redis the test owns. `stop()` sends SIGTERM to the
 * primary (which drains its workers) by PID, SIGKILL if it does not end in time.
 *
 *   const workers = await startWorkers({ redisUrl: redis.url, workers: 2 });
 *   const [first] = await workers.workerPids();   // the workers, children of the primary
 *   process.kill(first, 'SIGKILL');               // a worker dies; the primary starts another
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { captureOutput, endProcess, hasExited } from './processes.js';
import { waitFor } from './wait-for.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Two busy cores load tsx, fastify and ioredis in the primary and every worker. */
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface StartedWorkers {
  /** `http://127.0.0.1:<port>`, as the primary printed it. */
  readonly url: string;
  /** The primary's PID. */
  readonly pid: number;
  /** What the command printed so far (stdout and stderr, the last few KiB). */
  output(): string;
  /** PIDs of the running workers (children of the primary). */
  workerPids(): Promise<number[]>;
  stop(): Promise<void>;
}

export interface WorkersOptions {
  /** Redis for the workers (`--redis`); without it only `workers: 1` starts. */
  readonly redisUrl?: string;
  readonly workers?: number;
  /** More flags (`--heartbeat-interval-ms`, …). */
  readonly args?: readonly string[];
}

const LISTENING = /Switchyard listening on (http:\/\/\S+)/;

export async function startWorkers(options: WorkersOptions): Promise<StartedWorkers> {
  const redis = options.redisUrl === undefined ? [] : ['--redis', options.redisUrl];
  const args = ['--workers', String(options.workers ?? 2), ...redis, '--port', '0'];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', ...args, '--log-level', 'warn', ...(options.args ?? [])],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = captureOutput(child, 60_000);
  const stop = (): Promise<void> => endProcess(child, 'SIGTERM', STOP_TIMEOUT_MS);
  try {
    await waitFor(() => LISTENING.test(output()) || hasExited(child), {
      timeoutMs: START_TIMEOUT_MS,
      what: 'the workers to listen',
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const url = LISTENING.exec(output())?.[1];
  if (url === undefined || child.pid === undefined) {
    await stop();
    throw new Error(`switchyard --workers did not start: ${output()}`);
  }
  const pid = child.pid;
  return { url, pid, output, workerPids: () => childrenOf(pid), stop };
}

/** The workers: children of `pid` that run the command (tsx may run an esbuild child too). */
async function childrenOf(pid: number): Promise<number[]> {
  const ps = promisify(execFile)('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { timeout: 5_000 });
  // ps exits 1 when there is none.
  const { stdout } = await ps.catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .filter((line) => line.includes('src/cli.ts'))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** One metric's samples from Prometheus text: `{labels}` (as written) → value. */
export function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}
