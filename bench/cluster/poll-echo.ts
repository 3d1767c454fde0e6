/**
 * Long-poll echo through a round-robin HAProxy over two cluster nodes, against one node
 * direct (`npm run bench` runs it in scenario F; `tsx bench/cluster/poll-echo.ts` alone).
 *
 * Every node is a process of its own (the cluster tests' node, test/cluster/node-main.ts: it
 * echoes every 0.6 message), on a redis-server of this run's own. Three setups, one after
 * another, each measured the same way:
 *
 * - `one node, fan-out only`: one node on RedisAdapter: sessions stay in the process, as on a
 *   server without a cluster (the base line);
 * - `one node, cluster sessions`: one node on redisCluster, reached directly (what the
 *   journal and the records cost);
 * - `two nodes + HAProxy`: two nodes on redisCluster behind HAProxy balancing every request
 *   round-robin, no stickiness: about every other request lands on the node that does not own
 *   its session and is relayed (what the relay and the proxy cost).
 *
 * Each session behaves as a browser's 0.6 client (bench/lib/echo-session.ts). Prints one JSON
 * line (`{"type":"cluster-echo", …}`) and a table.
 */
import { startCluster, type Cluster } from '../../test/helpers/cluster.js';
import { echoTable, measureEcho, TEXT_ECHO, type EchoRun, type Figure } from '../lib/echo-session.js';

const RUN: EchoRun = {
  sessions: Number(process.env.BENCH_CLUSTER_ECHO_SESSIONS ?? 50),
  warmupMs: Number(process.env.BENCH_CLUSTER_ECHO_WARMUP_MS ?? 2_000),
  durationMs: Number(process.env.BENCH_CLUSTER_ECHO_MS ?? 8_000),
};

async function measureOn(setup: string, start: () => Promise<Cluster>): Promise<Figure> {
  const cluster = await start();
  try {
    return await measureEcho(setup, cluster.url, TEXT_ECHO, RUN);
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  // The nodes log nothing per request: the figure is the server's, not its logger's.
  const quiet = { nodeOptions: { logger: false, heartbeatIntervalMs: 0 } };
  const figures = [
    await measureOn('one node, fan-out only', () =>
      startCluster({ ...quiet, nodes: 1, haproxy: false, mode: 'fanout' }),
    ),
    await measureOn('one node, cluster sessions', () => startCluster({ ...quiet, nodes: 1, haproxy: false })),
    await measureOn('two nodes + HAProxy', () => startCluster({ ...quiet, nodes: 2 })),
  ];
  console.log(JSON.stringify({ type: 'cluster-echo', sessions: RUN.sessions, durationMs: RUN.durationMs, figures }));
  console.log(echoTable(`long-poll echo, ${RUN.sessions} sessions`, figures));
}

await main();
process.exit(0);
