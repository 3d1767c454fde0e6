/**
 * `switchyard --workers 2 --redis URL`, the command as an operator runs it (a child process
 * with its node:cluster workers, a redis-server of the file's own): sessions on both workers
 * of one port with no stickiness; one `/metrics` for both (the primary merges them), with
 * per-node gauges and the cluster's room count; a worker SIGKILLed is started again and its
 * session resumes on the other; `/readyz` says 503 ERR_ADAPTER_UNAVAILABLE while Redis is
 * gone. Without `--redis`, `--workers` is a one-line usage error.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JarPollClient } from '../helpers/jar-poll.js';
import { captureOutput } from '../helpers/processes.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { samples, startWorkers, type StartedWorkers } from '../helpers/workers.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: a liveness lapse (2 s), a takeover and a restart on two busy cores. */
const TAKEOVER_TIMEOUT_MS = 30_000;

let redis: RedisServer;
let workers: StartedWorkers;
let store: Redis;
const clients: JarPollClient[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  store = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  // Redis is killed on purpose below.
  store.on('error', () => undefined);
  workers = await startWorkers({
    redisUrl: redis.url,
    args: ['--poll-duration-ms', '1000', '--reconnect-window-ms', '60000'],
  });
}, 90_000);
afterAll(async () => {
  store?.disconnect();
  await workers?.stop();
  await redis?.stop();
}, 30_000);

const metrics = async (): Promise<string> => (await fetch(`${workers.url}/metrics`)).text();
const sum = (values: Map<string, number>): number => [...values.values()].reduce((a, b) => a + b, 0);

/** A chat member: a 0.6 session over xhr-polling that joined `room`. */
async function member(nick: string, room: string): Promise<JarPollClient> {
  const client = new JarPollClient(workers.url);
  clients.push(client);
  await client.handshake();
  await join(client, nick, room);
  return client;
}

async function join(client: JarPollClient, nick: string, room: string): Promise<void> {
  expect(await client.send(`~j~${JSON.stringify({ join: { nick, room, key: nick } })}`)).toBe(200);
  await waitFor(async () => (await client.poll()).messages.some((m) => m.type === 'json' && isWelcome(m.data)), {
    timeoutMs: 10_000,
    intervalMs: 0,
    what: `${nick}'s welcome`,
  });
}

function isWelcome(data: unknown): boolean {
  return (data as { type?: unknown } | null)?.type === 'welcome';
}

describe('switchyard --workers', () => {
  it('refuses --workers without --redis in one line, exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--workers', '2', '--port', '0'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = captureOutput(child, 50_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output().split('\n')[0]).toBe(
      'switchyard: --workers needs --redis: the workers share their sessions through Redis',
    );
  });

  it('serves sessions on both workers, and /metrics answers for both with per-node gauges and the room count', async () => {
    expect(await workers.workerPids()).toHaveLength(2);
    // The primary hands connections to the workers in turn; how a member's requests fall in
    // that turn decides where its session is made. Six members at least, until both hold one.
    const owners = new Set<string>();
    for (let i = 0; i < 12 && (i < 6 || owners.size < 2); i++) {
      const client = await member(`m${i}`, i % 2 === 0 ? 'even' : 'odd');
      owners.add((await store.hget(`sy:s:{${client.sessionId}}`, 'owner')) ?? 'none');
    }
    expect(owners.size).toBe(2);
    const count = clients.length;
    await waitFor(
      async () => {
        const text = await metrics();
        const perNode = samples(text, 'switchyard_node_sessions');
        return perNode.size === 2 && sum(perNode) === count && samples(text, 'switchyard_cluster_rooms').get('') === 2;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'every session over two nodes in the per-node gauges' },
    );
    const text = await metrics();
    expect(samples(text, 'switchyard_workers_answered').get('')).toBe(2);
    expect(samples(text, 'switchyard_workers').get('')).toBe(2);
    expect([...samples(text, 'switchyard_node_up').values()]).toEqual([1, 1]);
    // Both workers hold some: connections are handed to the workers in turn, no stickiness.
    for (const sessions of samples(text, 'switchyard_node_sessions').values()) expect(sessions).toBeGreaterThan(0);
    // The workers' own counters, summed by the primary.
    expect(samples(text, 'switchyard_sessions').get('{family="socketio06",transport="xhr-polling"}')).toBe(count);
  });

  it(
    'starts a worker again after a SIGKILL, and its session resumes on the other one',
    async () => {
      const client = clients[0] ?? (await member('m0', 'even'));
      const sessionId = client.sessionId;
      const owner = await store.hget(`sy:s:{${sessionId}}`, 'owner');
      const record = JSON.parse((await store.get(`sy:stats:{${owner ?? ''}}`)) ?? '{}') as { pid?: number };
      const before = await workers.workerPids();
      expect(before).toContain(record.pid);
      process.kill(record.pid as number, 'SIGKILL');
      // A connection node:cluster's primary hands to a worker in the instant it dies is lost
      // (docs/operations.md): the client's next request goes once the primary knows.
      await waitFor(() => workers.output().includes(`worker ${record.pid} exited on SIGKILL; starting another`), {
        timeoutMs: 5_000,
        what: 'the primary to see the worker die',
      });

      // The session, taken over by the other worker, answers its client under the same id.
      await join(client, 'm0', 'even');
      expect(client.sessionId).toBe(sessionId);
      const now = await store.hget(`sy:s:{${sessionId}}`, 'owner');
      expect(now).not.toBe(owner);

      await waitFor(
        async () => {
          const pids = await workers.workerPids();
          return pids.length === 2 && !pids.includes(record.pid as number);
        },
        { timeoutMs: TAKEOVER_TIMEOUT_MS, intervalMs: 100, what: 'a new worker' },
      );
      await waitFor(async () => samples(await metrics(), 'switchyard_worker_restarts_total').get('') === 1, {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'the restart in /metrics',
      });
    },
    TAKEOVER_TIMEOUT_MS * 2,
  );

  it('answers /readyz 503 ERR_ADAPTER_UNAVAILABLE while Redis is gone, and 200 once it is back', async () => {
    expect((await fetch(`${workers.url}/readyz`)).status).toBe(200);
    await redis.kill();
    // Each request may land on either worker: both must say so.
    const notReady = async (): Promise<boolean> => {
      const answers = await Promise.all([1, 2, 3, 4].map(() => fetch(`${workers.url}/readyz`, { headers: {} })));
      const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as Array<{ code?: string }>;
      return (
        answers.every((answer) => answer.status === 503) && bodies.every((b) => b.code === 'ERR_ADAPTER_UNAVAILABLE')
      );
    };
    await waitFor(notReady, { timeoutMs: 10_000, intervalMs: 100, what: 'both workers to be not ready' });
    expect((await fetch(`${workers.url}/healthz`)).status).toBe(200);
    await redis.restart();
    await waitFor(async () => (await fetch(`${workers.url}/readyz`)).status === 200, {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: 'ready again',
    });
  }, 40_000);
});
