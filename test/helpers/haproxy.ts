/**
 * A real HAProxy (Debian's package, `node scripts/provision.mjs` installs it) in front of
 * several nodes: `haproxyConfig` writes the configuration (the same text is the example in
 * docs/cluster.md, kept equal by test/cluster/haproxy-config.test.ts); `startHaproxy` runs
 * it on a free loopback port from a temporary directory, and reads server states through its
 * stats socket (the runtime API), so a test can wait until a killed node is marked down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureOutput, endProcess, freePort, hasExited } from './processes.js';
import { waitFor } from './wait-for.js';

export const HAPROXY_BINARY = '/usr/sbin/haproxy';
export const BACKEND = 'switchyard_nodes';
const PORT_ATTEMPTS = 5;
const START_TIMEOUT_MS = 15_000;
const STATS_TIMEOUT_MS = 1_000;

export interface BackendServer {
  readonly name: string;
  /** `host:port` */
  readonly address: string;
}

export interface HaproxyConfigInput {
  /** Where clients connect: `127.0.0.1:8080`, `:80`. */
  bind: string;
  servers: readonly BackendServer[];
  /** Path of the stats socket (the runtime API). */
  statsSocket: string;
  /** Log every request to stderr. Default false (no logs). */
  debug?: boolean;
}

/** Configuration lines, each with the reason it is there. */
export function haproxyConfig(input: HaproxyConfigInput): string {
  const line = (directive: string, why: string) => `    ${directive.padEnd(47)} # ${why}`;
  return [
    '# Switchyard nodes behind HAProxy: every request balanced on its own, no stickiness.',
    'global',
    line(`stats socket ${input.statsSocket} mode 600 level admin`, 'runtime API: server states, drain a node'),
    ...(input.debug === true ? [line('log stderr format raw local0', 'request logs (debugging only)')] : []),
    '',
    'defaults',
    line('mode http', 'parse every request, so each one is balanced'),
    ...(input.debug === true
      ? [line('log global', 'request logs (debugging only)'), line('option httplog', 'one line per request')]
      : []),
    line('option http-server-close', 'one server connection per request; clients keep theirs'),
    line('no option prefer-last-server', "never prefer the previous request's node"),
    line('option forwardfor', "the client's address, for the nodes' trustProxy"),
    line('option abortonclose', 'a client that aborts (a poll, a stream) aborts its request'),
    line('retries 3', 'retry a failed connection up to 3 times'),
    line('option redispatch 1', 'every retry on another node, at once'),
    line('timeout connect 1s', 'a dead node refuses at once; a lost one costs 1 s'),
    line('timeout client 60s', 'above pollDurationMs (20 s) and heartbeats (10 s)'),
    line('timeout server 60s', 'a held poll or a quiet stream is not cut'),
    line('timeout http-request 10s', 'longest wait for a request head'),
    line('timeout http-keep-alive 10s', 'idle keep-alive connection of a client'),
    line('timeout tunnel 1h', 'websockets after the upgrade'),
    line('timeout client-fin 30s', 'clients that vanish while half-closed'),
    '',
    'frontend switchyard',
    line(`bind ${input.bind}`, 'where clients connect'),
    line(`default_backend ${BACKEND}`, 'every request goes to the nodes'),
    '',
    `backend ${BACKEND}`,
    line('balance roundrobin', 'each request to the next node in turn'),
    line('default-server check inter 250ms fall 2 rise 1', 'TCP check: down after 2 failures, up after 1'),
    ...input.servers.map((server) => line(`server ${server.name} ${server.address}`, 'a node')),
    '',
  ].join('\n');
}

/** One row of `show stat` for a server of the backend. */
export interface ServerStat {
  readonly name: string;
  /** `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/1` (going up), `MAINT`… */
  readonly status: string;
  /** Connections made to it so far. */
  readonly sessionsTotal: number;
}

export interface Haproxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly configPath: string;
  stats(): Promise<ServerStat[]>;
  /** Waits (bounded) until HAProxy sees `server` as `UP` or `DOWN` (transitional states are neither). */
  waitForState(server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  /** Sends one runtime API command (`disable server switchyard_nodes/n1`), returns the answer. */
  command(command: string): Promise<string>;
  /** Ends HAProxy (by PID) and removes its directory. */
  stop(): Promise<void>;
}

/** Starts HAProxy on a free 127.0.0.1 port in front of `servers`; resolves once every server is UP. */
export async function startHaproxy(
  servers: readonly BackendServer[],
  { debug = false }: { debug?: boolean } = {},
): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-haproxy-'));
  const statsSocket = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    writeFileSync(configPath, haproxyConfig({ bind: `127.0.0.1:${port}`, servers, statsSocket, debug }));
    try {
      const child = await launch(configPath, statsSocket, debug);
      const haproxy = handle(child, port, dir, configPath, statsSocket);
      for (const server of servers) await haproxy.waitForState(server.name, 'UP', START_TIMEOUT_MS);
      return haproxy;
    } catch (error) {
      lastError = error;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`haproxy did not start after ${PORT_ATTEMPTS} ports: ${String(lastError)}`);
}

function handle(child: ChildProcess, port: number, dir: string, configPath: string, statsSocket: string): Haproxy {
  const command = (text: string) => runtimeCommand(statsSocket, text);
  const stats = async () => parseStats(await command('show stat'));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get pid() {
      return hasExited(child) ? undefined : child.pid;
    },
    configPath,
    stats,
    command,
    async waitForState(server, state, timeoutMs = 5_000) {
      await waitFor(async () => (await stats()).some((row) => row.name === server && row.status === state), {
        timeoutMs,
        intervalMs: 25,
        what: `haproxy to see ${server} ${state}`,
      });
    },
    async stop() {
      await endProcess(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `-db`: stays in the foreground, so the PID we hold is HAProxy's own; ready once the socket answers. */
async function launch(configPath: string, statsSocket: string, debug: boolean): Promise<ChildProcess> {
  const child = spawn(HAPROXY_BINARY, ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  if (debug) child.stderr?.pipe(process.stderr);
  try {
    await waitFor(
      async () => hasExited(child) || (await runtimeCommand(statsSocket, 'show info').catch(() => '')) !== '',
      {
        timeoutMs: START_TIMEOUT_MS,
        intervalMs: 20,
        what: 'the haproxy stats socket',
      },
    );
  } catch (error) {
    await endProcess(child, 'SIGKILL');
    throw error;
  }
  if (hasExited(child)) throw new Error(`haproxy exited: ${output()}`);
  return child;
}

/** One command on the stats socket; HAProxy answers and closes (non-interactive mode). */
function runtimeCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let answer = '';
    socket.setTimeout(STATS_TIMEOUT_MS, () => socket.destroy(new Error(`no answer to "${command}"`)));
    socket.once('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.once('error', reject);
    socket.once('close', (hadError) => (hadError ? undefined : resolve(answer)));
  });
}

/** The backend's server rows of `show stat` (CSV; the header line names the columns). */
function parseStats(csv: string): ServerStat[] {
  const [header, ...rows] = csv.trim().split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const at = (cells: string[], name: string) => cells[columns.indexOf(name)] ?? '';
  return rows
    .map((row) => row.split(','))
    .filter((cells) => at(cells, 'pxname') === BACKEND && !['BACKEND', 'FRONTEND'].includes(at(cells, 'svname')))
    .map((cells) => ({
      name: at(cells, 'svname'),
      status: at(cells, 'status'),
      sessionsTotal: Number(at(cells, 'stot')),
    }));
}
