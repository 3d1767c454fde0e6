/**
 * Child processes of the benchmark: every server and every load generator is a separate
 * Node process with an IPC channel, pinned to its own core when `taskset` is there.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

let hasTaskset: boolean | undefined;

/** Pins every thread of `pid` to `core`; false when taskset is missing or refused. */
function pin(pid: number, core: number): boolean {
  if (hasTaskset === false) return false;
  try {
    execFileSync('taskset', ['-a', '-pc', String(core), String(pid)], { stdio: 'ignore' });
    hasTaskset = true;
  } catch {
    hasTaskset = false;
  }
  return hasTaskset;
}

export function isPinning(): boolean {
  return hasTaskset === true;
}

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The next IPC message of `type` (rejects on exit or timeout). */
  next<T>(type: string, timeoutMs: number): Promise<T>;
  send(message: object): void;
  /** Disconnects (the child exits on its own, writing any --cpu-prof), then kills if needed. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  readonly file: string;
  readonly args?: readonly string[];
  readonly core?: number;
  readonly execArgv?: readonly string[];
  readonly name: string;
}

export function spawnChild(options: SpawnOptions): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...(options.execArgv ?? []), options.file, ...(options.args ?? [])],
    { cwd: BENCH_DIR, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name}`);
  if (options.core !== undefined) pin(pid, options.core);
  const inbox: { type: string }[] = [];
  const waiters: ((message: { type: string }) => void)[] = [];
  child.on('message', (message: { type: string }) => {
    inbox.push(message);
    for (const waiter of [...waiters]) waiter(message);
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    process: child,
    pid,
    send: (message) => child.connected && child.send(message),
    next<T>(type: string, timeoutMs: number): Promise<T> {
      const index = inbox.findIndex((message) => message.type === type || message.type === 'failed');
      if (index !== -1) return settle<T>(inbox.splice(index, 1)[0]!, options.name);
      return new Promise<T>((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(waiter), 1);
          child.off('exit', onExit);
        };
        const waiter = (message: { type: string }) => {
          if (message.type !== type && message.type !== 'failed') return;
          cleanup();
          inbox.splice(inbox.indexOf(message), 1);
          settle<T>(message, options.name).then(resolve, reject);
        };
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`${options.name} exited (${code}) before "${type}"`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${options.name}: no "${type}" within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
        child.once('exit', onExit);
      });
    },
    async stop() {
      if (exited) return;
      const exit = once(child, 'exit');
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

function settle<T>(message: { type: string }, name: string): Promise<T> {
  if (message.type === 'failed') {
    return Promise.reject(new Error(`${name} failed: ${(message as { message?: string }).message ?? '?'}`));
  }
  return Promise.resolve(message as T);
}
