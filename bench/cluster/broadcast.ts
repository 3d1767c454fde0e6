/**
 * Cross-node broadcast: deliveries per second when the clients of a broadcast are spread over
 * two cluster nodes, against the same clients on one node (`npm run bench` runs it in
 * scenario F; `tsx bench/cluster/broadcast.ts` alone).
 *
 * Every node is a process of its own (test/cluster/node-main.ts), on a redis-server of this
 * run's own; the clients are 0.6 websocket clients connected to the nodes directly. Each
 * round, node 1 broadcasts a burst of numbered messages (its `POST /test/broadcast`), and the
 * round ends when every client has the last one. Three setups, one after another:
 *
 * - `one node, fan-out only`: one node on RedisAdapter (sessions in the process; the base line);
 * - `one node, cluster sessions`: one node on redisCluster (what the journal costs a fan-out);
 * - `two nodes, cluster sessions`: half the clients on each node: every message also goes
 *   through the sender's fan-out log and pub/sub to the other node.
 *
 * On a 2-core machine the nodes, redis-server and this generator share the cores: the ratios
 * show what crossing nodes costs, not a speed-up. Prints one JSON line
 * (`{"type":"cluster-broadcast", …}`) and a table.
 */
import { cpuUsage } from 'node:process';
import { startCluster, type Cluster } from '../../test/helpers/cluster.js';
import { LegacyWsClient } from '../../test/helpers/legacy-ws.js';
import { waitFor } from '../../test/helpers/wait-for.js';

const CLIENTS = Number(process.env.BENCH_CLUSTER_BROADCAST_CLIENTS ?? 200);
const MESSAGES = Number(process.env.BENCH_CLUSTER_BROADCAST_MESSAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_CLUSTER_BROADCAST_ROUNDS ?? 5);
const ROUND_TIMEOUT_MS = 60_000;

interface Figure {
  readonly setup: string;
  /** Deliveries per second, over the rounds (median round). */
  readonly deliveriesPerSecond: number;
  /** The median round's time from the broadcast request to the last client's last message. */
  readonly lastMs: number;
  /** This generator's CPU share over the rounds (1 = one core). */
  readonly loadCpu: number;
}

/** Counts the broadcasts a client got in the round tagged `tag`. */
function countOf(client: LegacyWsClient, tag: string): number {
  let count = 0;
  for (const message of client.messages) if (message.type === 'text' && message.data.startsWith(tag)) count++;
  return count;
}

async function round(cluster: Cluster, clients: readonly LegacyWsClient[], n: number): Promise<number> {
  for (const client of clients) client.messages.length = 0;
  const tag = `r${n}:`;
  const startedAt = performance.now();
  const answer = await fetch(`${cluster.nodes[0]!.url}/test/broadcast?count=${MESSAGES}&tag=r${n}`, {
    method: 'POST',
  });
  if (answer.status !== 202) throw new Error(`broadcast refused: ${answer.status}`);
  await waitFor(() => clients.every((client) => countOf(client, tag) >= MESSAGES), {
    timeoutMs: ROUND_TIMEOUT_MS,
    intervalMs: 2,
    what: `round ${n}: every client has ${MESSAGES} broadcasts`,
  });
  return performance.now() - startedAt;
}

async function measure(setup: string, cluster: Cluster): Promise<Figure> {
  const clients: LegacyWsClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const node = cluster.nodes[i % cluster.nodes.length]!;
      clients.push(await LegacyWsClient.connect(`${node.url.replace('http', 'ws')}/socket.io/websocket`));
    }
    await round(cluster, clients, 0); // warm-up
    const cpuBefore = cpuUsage();
    const times: number[] = [];
    let total = 0;
    for (let n = 1; n <= ROUNDS; n++) {
      const ms = await round(cluster, clients, n);
      times.push(ms);
      total += ms;
    }
    const cpu = cpuUsage(cpuBefore);
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    return {
      setup,
      deliveriesPerSecond: Math.round((CLIENTS * MESSAGES) / (median / 1000)),
      lastMs: Math.round(median),
      loadCpu: (cpu.user + cpu.system) / 1000 / total,
    };
  } finally {
    for (const client of clients) client.ws.terminate();
  }
}

async function measureOn(setup: string, start: () => Promise<Cluster>): Promise<Figure> {
  const cluster = await start();
  try {
    return await measure(setup, cluster);
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  // No heartbeats and no request log: the figure is the fan-out's.
  const quiet = { nodeOptions: { logger: false, heartbeatIntervalMs: 0 }, haproxy: false } as const;
  const figures = [
    await measureOn('one node, fan-out only', () => startCluster({ ...quiet, nodes: 1, mode: 'fanout' })),
    await measureOn('one node, cluster sessions', () => startCluster({ ...quiet, nodes: 1 })),
    await measureOn('two nodes, cluster sessions', () => startCluster({ ...quiet, nodes: 2 })),
  ];
  const base = figures[0]!.deliveriesPerSecond;
  console.log(
    JSON.stringify({ type: 'cluster-broadcast', clients: CLIENTS, messages: MESSAGES, rounds: ROUNDS, figures }),
  );
  console.log(
    [
      `| broadcast, ${CLIENTS} websocket clients × ${MESSAGES} messages | deliveries/s | ÷ one node | last delivery ms | generator CPU |`,
      '| --- | ---: | ---: | ---: | ---: |',
      ...figures.map(
        (figure) =>
          `| ${figure.setup} | ${figure.deliveriesPerSecond} | ${(figure.deliveriesPerSecond / base).toFixed(2)} | ${figure.lastMs} | ${figure.loadCpu.toFixed(2)} |`,
      ),
    ].join('\n'),
  );
}

await main();
process.exit(0);
