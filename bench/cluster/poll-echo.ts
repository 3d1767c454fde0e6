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
 * Each session behaves as a browser's 0.6 client: two keep-alive connections (one holds the
 * poll, one carries the POSTs), its cookies kept; a round trip is one POST and the poll answer
 * that brings the echo back. Prints one JSON line (`{"type":"cluster-echo", …}`) and a table.
 */
import { Agent, request } from 'node:http';
import { cpuUsage } from 'node:process';
import { decode, encodeFrame } from '../../src/codecs/sio.js';
import { startCluster, type Cluster } from '../../test/helpers/cluster.js';
import { CookieJar } from '../../test/helpers/cookie-jar.js';

const SESSIONS = Number(process.env.BENCH_CLUSTER_ECHO_SESSIONS ?? 50);
const WARMUP_MS = Number(process.env.BENCH_CLUSTER_ECHO_WARMUP_MS ?? 2_000);
const DURATION_MS = Number(process.env.BENCH_CLUSTER_ECHO_MS ?? 8_000);
const REQUEST_TIMEOUT_MS = 30_000;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One 0.6 xhr-polling session, as the browser's client runs it. */
class EchoSession {
  private sessionId = '';
  private readonly jar = new CookieJar();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 2 });
  roundTrips = 0;
  failures = 0;

  constructor(private readonly baseUrl: string) {}

  async open(): Promise<void> {
    const answer = await this.call('GET', `/socket.io/xhr-polling//${Date.now()}`);
    const first = decodeTexts(answer.body)[0];
    if (first === undefined) throw new Error(`no session id (status ${answer.status})`);
    this.sessionId = first;
  }

  /** Round trips until `until`: send one message, poll until its echo is back. */
  async run(until: number): Promise<void> {
    let n = 0;
    while (Date.now() < until) {
      const text = `echo ${n++}`;
      const [sent, echoed] = await Promise.all([this.send(text), this.pollFor(text, until)]);
      if (sent === 200 && echoed) this.roundTrips++;
      else this.failures++;
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private send(text: string): Promise<number> {
    const body = `data=${encodeURIComponent(encodeFrame(text))}`;
    return this.call('POST', `/socket.io/xhr-polling/${this.sessionId}/send`, body).then((answer) => answer.status);
  }

  private async pollFor(text: string, until: number): Promise<boolean> {
    // A poll may also bring a heartbeat or come back empty at its hold time: poll again.
    for (let polls = 0; polls < 20 && Date.now() < until + REQUEST_TIMEOUT_MS; polls++) {
      const answer = await this.call('GET', `/socket.io/xhr-polling/${this.sessionId}/${Date.now()}`);
      if (answer.status !== 200) return false;
      if (decodeTexts(answer.body).includes(text)) return true;
    }
    return false;
  }

  private call(method: string, path: string, body?: string): Promise<Answer> {
    return new Promise((resolve) => {
      const cookie = this.jar.header(path);
      const headers: Record<string, string> = cookie === undefined ? {} : { Cookie: cookie };
      if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      const req = request(`${this.baseUrl}${path}`, { method, headers, agent: this.agent }, (res) => {
        this.jar.store(res.headers['set-cookie']);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy());
      req.on('error', () => resolve({ status: 0, body: '' }));
      req.end(body);
    });
  }
}

function decodeTexts(body: string): string[] {
  if (body === '') return [];
  const decoded = decode(body);
  if (!decoded.ok) return [];
  return decoded.value.flatMap((message) => (message.type === 'text' ? [message.data] : []));
}

interface Figure {
  readonly setup: string;
  readonly roundTripsPerSecond: number;
  readonly failures: number;
  /** This generator's CPU share over the measured window (1 = one core). */
  readonly loadCpu: number;
}

async function measure(setup: string, cluster: Cluster): Promise<Figure> {
  const sessions = Array.from({ length: SESSIONS }, () => new EchoSession(cluster.url));
  try {
    await Promise.all(sessions.map((session) => session.open()));
    await Promise.all(sessions.map((session) => session.run(Date.now() + WARMUP_MS)));
    for (const session of sessions) session.roundTrips = session.failures = 0;
    const startedAt = Date.now();
    const cpuBefore = cpuUsage();
    await Promise.all(sessions.map((session) => session.run(startedAt + DURATION_MS)));
    const elapsedMs = Date.now() - startedAt;
    const cpu = cpuUsage(cpuBefore);
    const roundTrips = sessions.reduce((sum, session) => sum + session.roundTrips, 0);
    return {
      setup,
      roundTripsPerSecond: Math.round((roundTrips / elapsedMs) * 1000),
      failures: sessions.reduce((sum, session) => sum + session.failures, 0),
      loadCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
    };
  } finally {
    for (const session of sessions) session.close();
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
  // The nodes log nothing per request: the figure is the server's, not its logger's.
  const quiet = { nodeOptions: { logger: false, heartbeatIntervalMs: 0 } };
  const figures = [
    await measureOn('one node, fan-out only', () =>
      startCluster({ ...quiet, nodes: 1, haproxy: false, mode: 'fanout' }),
    ),
    await measureOn('one node, cluster sessions', () => startCluster({ ...quiet, nodes: 1, haproxy: false })),
    await measureOn('two nodes + HAProxy', () => startCluster({ ...quiet, nodes: 2 })),
  ];
  const base = figures[0]!.roundTripsPerSecond;
  console.log(JSON.stringify({ type: 'cluster-echo', sessions: SESSIONS, durationMs: DURATION_MS, figures }));
  console.log(
    [
      `| long-poll echo, ${SESSIONS} sessions | round trips/s | ÷ one node | failed | generator CPU |`,
      '| --- | ---: | ---: | ---: | ---: |',
      ...figures.map(
        (figure) =>
          `| ${figure.setup} | ${figure.roundTripsPerSecond} | ${(figure.roundTripsPerSecond / base).toFixed(2)} | ${figure.failures} | ${figure.loadCpu.toFixed(2)} |`,
      ),
    ].join('\n'),
  );
}

await main();
process.exit(0);
