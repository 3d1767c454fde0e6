/**
 * Long-poll echo on `switchyard --workers 2 --redis URL` against the same command as one
 * process (`tsx bench/cluster/workers-echo.ts`). The command is run as an operator runs it
 * (the chat demo, a child process; test/helpers/workers.ts), on a redis-server of this run's
 * own. Three setups, one after another, each measured the same way:
 *
 * - `one process`: `switchyard` alone, no Redis (the base line);
 * - `one process + Redis`: `switchyard --redis URL`, cluster sessions (what the journal and the
 *   records cost);
 * - `--workers 2`: two node:cluster workers on one port: the primary hands connections to the
 *   workers in turn, so about every other request lands on the worker that does not own its
 *   session and is relayed through Redis.
 *
 * A round trip is a chat `say` to a room of the session's own and the poll answer that brings
 * it back (bench/lib/echo-session.ts). On a 2-core machine shared with the load generator and
 * redis-server, the workers have no idle core to gain: this shows what the workers cost (the
 * relay, the primary's hand-off) and that every echo arrives, more than any speed-up. Ratios
 * within one run only; the figures are indicative. Prints one JSON line
 * (`{"type":"workers-echo", …}`) and a table.
 */
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { startWorkers, type StartedWorkers } from '../../test/helpers/workers.js';
import { echoTable, measureEcho, type EchoApp, type EchoRun, type Figure } from '../lib/echo-session.js';

const RUN: EchoRun = {
  sessions: Number(process.env.BENCH_WORKERS_ECHO_SESSIONS ?? 50),
  warmupMs: Number(process.env.BENCH_WORKERS_ECHO_WARMUP_MS ?? 2_000),
  durationMs: Number(process.env.BENCH_WORKERS_ECHO_MS ?? 8_000),
};

/** The chat demo: each session in a room of its own, so a `say` comes back to it alone. */
const CHAT_ECHO: EchoApp = {
  setup: (index) => [`~j~${JSON.stringify({ join: { nick: `b${index}`, room: `bench-${index}`, key: `k${index}` } })}`],
  frame: (text) => `~j~${JSON.stringify({ say: text })}`,
  isEcho: (message, text) => {
    if (message.type !== 'json') return false;
    const data = message.data as { type?: unknown; text?: unknown } | null;
    return data?.type === 'message' && data.text === text;
  },
};

/** No heartbeats and no per-request log: the figure is the server's, not its timers' or logger's. */
const QUIET = ['--heartbeat-interval-ms', '0', '--log-level', 'warn'];

async function measureOn(setup: string, start: () => Promise<StartedWorkers>): Promise<Figure> {
  const command = await start();
  try {
    return await measureEcho(setup, command.url, CHAT_ECHO, RUN);
  } finally {
    await command.stop();
  }
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  try {
    const figures = [
      await measureOn('one process', () => startWorkers({ workers: 1, args: QUIET })),
      await measureOn('one process + Redis', () => startWorkers({ workers: 1, redisUrl: redis.url, args: QUIET })),
      await measureOn('--workers 2', () => startWorkers({ workers: 2, redisUrl: redis.url, args: QUIET })),
    ];
    console.log(JSON.stringify({ type: 'workers-echo', sessions: RUN.sessions, durationMs: RUN.durationMs, figures }));
    console.log(echoTable(`chat echo over xhr-polling, ${RUN.sessions} sessions`, figures));
  } finally {
    await redis.stop();
  }
}

await main();
process.exit(0);
