/**
 * A real `redis-server` of the test file's own: on a free loopback port, no persistence, in
 * a temporary directory. `stop()` ends exactly the process it started (by PID); `restart()`
 * starts a new one on the same port (the "Redis came back" case). Debian's package
 * (`node scripts/provision.mjs` installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endProcess as end, freePort } from './processes.js';
import { waitFor } from './wait-for.js';

export const REDIS_SERVER_BINARY = '/usr/bin/redis-server';
const PORT_ATTEMPTS = 5;
const START_TIMEOUT_MS = 5_000;

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** PID of the running process; undefined while stopped. */
  readonly pid: number | undefined;
  /** Kills the process (SIGKILL: Redis vanishes as in a crash) and waits for its exit. */
  kill(): Promise<void>;
  /**
   * SIGSTOP: the process stops answering but its sockets stay open (the kernel still accepts
   * bytes): Redis frozen, as by a long pause, not gone. `thaw()` sends SIGCONT.
   */
  freeze(): void;
  thaw(): void;
  /** Starts it again on the same port and waits until PING answers. */
  restart(): Promise<void>;
  /** Ends the process (if running) and removes its directory. For afterAll. */
  stop(): Promise<void>;
}

/**
 * Starts a redis-server on a free 127.0.0.1 port, retrying with another port if bind fails.
 * `extraArgs` are added to its command line (a Redis Cluster node's settings: its ports are
 * chosen here, so it gets them).
 */
export async function startRedisServer(
  extraArgs: (port: number) => Promise<string[]> | string[] = () => [],
): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      const args = await extraArgs(port);
      const child = await launch(port, dir, args);
      return handle(port, dir, child, args);
    } catch (error) {
      lastError = error;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server did not start after ${PORT_ATTEMPTS} ports: ${String(lastError)}`);
}

function handle(port: number, dir: string, first: ChildProcess, args: readonly string[]): RedisServer {
  let child: ChildProcess | undefined = first;
  let isFrozen = false;
  const signal = (name: NodeJS.Signals): void => {
    if (child === undefined) throw new Error('redis-server is not running');
    child.kill(name);
    isFrozen = name === 'SIGSTOP';
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    async kill() {
      if (child !== undefined) await end(child, 'SIGKILL');
      child = undefined;
    },
    async restart() {
      if (child !== undefined) throw new Error('redis-server is still running');
      child = await launch(port, dir, args);
    },
    async stop() {
      // A stopped process would hold SIGTERM until it runs again.
      if (isFrozen) signal('SIGCONT');
      if (child !== undefined) await end(child, 'SIGTERM');
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(port: number, dir: string, extraArgs: readonly string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(REDIS_SERVER_BINARY, [...args, '--dir', dir, '--loglevel', 'warning', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  try {
    await waitFor(async () => exited || (await answersPing(port)), {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 20,
      what: `redis-server PING on port ${port}`,
    });
  } catch (error) {
    await end(child, 'SIGKILL');
    throw error;
  }
  if (exited) throw new Error(`redis-server on port ${port} exited: ${output.trim().slice(-300)}`);
  return child;
}

/** True when a RESP `PING` on a fresh connection gets `+PONG` (bounded by a short timeout). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}
