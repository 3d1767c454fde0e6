/**
 * A cluster of the test file's own: a redis-server, N Switchyard nodes as separate processes
 * (test/cluster/node-main.ts under tsx, started in parallel on ephemeral ports) and a real
 * HAProxy in front of them that balances every request round-robin, without stickiness.
 * `stop()` ends exactly the processes it started, by PID, and removes their files.
 *
 *   const cluster = await startCluster({ nodes: 3 });
 *   fetch(`${cluster.url}/test/whoami`);            // through HAProxy
 *   await cluster.nodes[0]!.kill('SIGKILL');         // the node crashes
 *   await cluster.waitForDown('n1');                 // HAProxy has marked it down
 *   await cluster.nodes[0]!.restart();               // same port; resolves once it is UP again
 *
 * `SWITCHYARD_CLUSTER_DEBUG=1` copies every node's and HAProxy's output (with request logs)
 * to stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CreateServerOptions } from '../../src/server.js';
import { FAILED_PREFIX, READY_PREFIX } from '../cluster/node-server.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { captureOutput, endProcess, hasExited } from './processes.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_MAIN = fileURLToPath(new URL('../cluster/node-main.ts', import.meta.url));
/** Generous: two busy cores load tsx, fastify and ioredis in every node at once. */
const NODE_START_TIMEOUT_MS = 60_000;
const DOWN_TIMEOUT_MS = 10_000;

export interface ClusterOptions {
  /** How many nodes. Default 3. */
  nodes?: number;
  /** A Redis to use (left running by `stop()`); default: a redis-server of the cluster's own. */
  redis?: { readonly url: string };
  /** Server options of every node (JSON: no functions). */
  nodeOptions?: CreateServerOptions;
  /** Put HAProxy in front. Default true; without it `url` is the first node's. */
  haproxy?: boolean;
  /** `cluster` (default): sessions shared on Redis (redisCluster); `fanout`: RedisAdapter alone. */
  mode?: 'cluster' | 'fanout';
  /** redisCluster's nodeTtlMs on every node (default: the library's). */
  nodeTtlMs?: number;
  /** Keep each node's last this many output lines (across restarts) for `logsMentioning`. Default 0. */
  keepLogLines?: number;
}

export interface ClusterNode {
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>`: this node directly, past HAProxy. */
  readonly url: string;
  /** PID of the running process; undefined once it has exited. */
  readonly pid: number | undefined;
  readonly isRunning: boolean;
  /** Sends `signal` (default SIGKILL) to this node's process; waits for its exit unless it was SIGSTOP. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port; resolves once it listens (and HAProxy sees it UP). */
  restart(): Promise<void>;
  /** The kept output lines (see `keepLogLines`) that contain `text`. */
  logsMentioning(text: string): string[];
}

export interface Cluster {
  /** Where clients connect: HAProxy (or the first node when started without it). */
  readonly url: string;
  readonly nodes: readonly ClusterNode[];
  readonly redis: { readonly url: string };
  readonly haproxy: Haproxy | undefined;
  readonly haproxyPid: number | undefined;
  node(name: string): ClusterNode;
  /** Waits (bounded) until HAProxy has marked `name` down. */
  waitForDown(name: string, timeoutMs?: number): Promise<void>;
  waitForUp(name: string, timeoutMs?: number): Promise<void>;
  /** Every node's kept output lines that contain `text`, each after its node's name. */
  logsMentioning(text: string): string[];
  stop(): Promise<void>;
}

const isDebug = () => process.env.SWITCHYARD_CLUSTER_DEBUG === '1';

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 16) throw new Error(`nodes must be 1…16, got ${count}`);
  const ownRedis: RedisServer | undefined = options.redis === undefined ? await startRedisServer() : undefined;
  const redis = options.redis ?? ownRedis!;
  const names = Array.from({ length: count }, (_, index) => `n${index + 1}`);
  const started = await Promise.allSettled(names.map((name) => startNode(name, 0, redis.url, options)));
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  let haproxy: Haproxy | undefined;
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    if (options.haproxy !== false) {
      haproxy = await startHaproxy(
        nodes.map((node) => ({ name: node.name, address: `127.0.0.1:${node.port}` })),
        { debug: isDebug() },
      );
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    await ownRedis?.stop();
    throw error;
  }
  for (const node of nodes) node.haproxy = haproxy;
  return clusterOf(nodes, redis, ownRedis, haproxy);
}

function clusterOf(nodes: NodeProcess[], redis: { url: string }, ownRedis?: RedisServer, haproxy?: Haproxy): Cluster {
  const node = (name: string) => {
    const found = nodes.find((candidate) => candidate.name === name);
    if (found === undefined) throw new Error(`no node ${name}`);
    return found;
  };
  const proxy = () => {
    if (haproxy === undefined) throw new Error('this cluster runs without HAProxy');
    return haproxy;
  };
  return {
    url: haproxy?.url ?? nodes[0]!.url,
    nodes,
    redis,
    haproxy,
    get haproxyPid() {
      return haproxy?.pid;
    },
    node,
    waitForDown: (name, timeoutMs = DOWN_TIMEOUT_MS) => proxy().waitForState(node(name).name, 'DOWN', timeoutMs),
    waitForUp: (name, timeoutMs = DOWN_TIMEOUT_MS) => proxy().waitForState(node(name).name, 'UP', timeoutMs),
    logsMentioning: (text) => nodes.flatMap((each) => each.logsMentioning(text).map((line) => `${each.name} ${line}`)),
    async stop() {
      await haproxy?.stop();
      await Promise.all(nodes.map((each) => each.stop()));
      await ownRedis?.stop();
    },
  };
}

/** One node process; `restart` starts a new process on the same port. */
class NodeProcess implements ClusterNode {
  haproxy: Haproxy | undefined;
  constructor(
    readonly name: string,
    readonly port: number,
    private child: ChildProcess,
    private readonly launchOnPort: (port: number) => Promise<{ child: ChildProcess; port: number }>,
    private readonly lines: LineLog,
  ) {}

  logsMentioning(text: string): string[] {
    return this.lines.mentioning(text);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return hasExited(this.child) ? undefined : this.child.pid;
  }

  get isRunning(): boolean {
    return !hasExited(this.child);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.isRunning) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      this.child.kill(signal);
      return;
    }
    await endProcess(this.child, signal);
  }

  async restart(): Promise<void> {
    if (this.isRunning) throw new Error(`${this.name} is still running`);
    this.child = (await this.launchOnPort(this.port)).child;
    await this.haproxy?.waitForState(this.name, 'UP', DOWN_TIMEOUT_MS);
  }

  /** Teardown: SIGKILL (a graceful drain would wait for clients the test no longer serves). */
  async stop(): Promise<void> {
    if (!this.isRunning) return;
    await endProcess(this.child, 'SIGKILL');
  }
}

async function startNode(name: string, port: number, redisUrl: string, options: ClusterOptions): Promise<NodeProcess> {
  const lines = new LineLog(options.keepLogLines ?? 0);
  const launchOnPort = async (onPort: number) => {
    const launched = await launchNode(name, onPort, redisUrl, options);
    lines.follow(launched.child);
    return launched;
  };
  const first = await launchOnPort(port);
  return new NodeProcess(name, first.port, first.child, launchOnPort, lines);
}

/** The last `max` output lines of a node's processes (none when `max` is 0). */
class LineLog {
  private readonly lines: string[] = [];
  constructor(private readonly max: number) {}

  follow(child: ChildProcess): void {
    if (this.max === 0) return;
    let pending = '';
    const keep = (chunk: Buffer) => {
      const parts = (pending + chunk.toString()).split('\n');
      pending = parts.pop() ?? '';
      this.lines.push(...parts);
      if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  mentioning(text: string): string[] {
    return this.lines.filter((line) => line.includes(text));
  }
}

/** Spawns node-main.ts and waits (bounded) for its ready line. */
async function launchNode(
  name: string,
  port: number,
  redisUrl: string,
  options: ClusterOptions,
): Promise<{ child: ChildProcess; port: number }> {
  const args = ['--import', 'tsx', NODE_MAIN, '--name', name, '--port', String(port), '--redis', redisUrl];
  args.push('--options', JSON.stringify(options.nodeOptions ?? {}), '--mode', options.mode ?? 'cluster');
  if (options.nodeTtlMs !== undefined) args.push('--node-ttl', String(options.nodeTtlMs));
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  if (isDebug()) {
    child.stdout?.pipe(process.stderr);
    child.stderr?.pipe(process.stderr);
  }
  try {
    return { child, port: await readyPort(child, name, output) };
  } catch (error) {
    await endProcess(child, 'SIGKILL');
    throw error;
  }
}

function readyPort(child: ChildProcess, name: string, output: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(READY_PREFIX))
          finish((JSON.parse(line.slice(READY_PREFIX.length)) as { port: number }).port);
        else if (line.startsWith(FAILED_PREFIX)) finish(new Error(`node ${name}: ${line.slice(FAILED_PREFIX.length)}`));
      }
    };
    const onExit = () => finish(new Error(`node ${name} exited before it was ready`));
    const timer = setTimeout(
      () => finish(new Error(`node ${name} not ready in ${NODE_START_TIMEOUT_MS} ms`)),
      NODE_START_TIMEOUT_MS,
    );
    const finish = (result: number | Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (typeof result === 'number') resolve(result);
      else reject(new Error(`${result.message}: ${output()}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}
