/**
 * Long-poll echo sessions for the cluster benches (bench/cluster/poll-echo.ts,
 * bench/cluster/workers-echo.ts): each behaves as a browser's 0.6 client over xhr-polling —
 * two keep-alive connections (one holds the poll, one carries the POSTs), its cookies kept; a
 * round trip is one POST and the poll answer that brings the echo back. What a message is and
 * what counts as its echo is the server's app's (`EchoApp`): the cluster tests' node echoes
 * every text, the chat demo sends a `say` back to the room.
 */
import { Agent, request } from 'node:http';
import { cpuUsage } from 'node:process';
import { decode, encodeFrame } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { CookieJar } from '../../test/helpers/cookie-jar.js';

const REQUEST_TIMEOUT_MS = 30_000;

/** What the app on the server echoes, and how. */
export interface EchoApp {
  /** Frames (0.6 frame data) a new session sends first, before it is measured (a chat join). */
  readonly setup?: (index: number) => readonly string[];
  /** The frame data that carries `text`. */
  readonly frame: (text: string) => string;
  /** Whether `message` is the echo of `text`. */
  readonly isEcho: (message: InboundMessage, text: string) => boolean;
}

/** The cluster tests' node: every text comes back as it was. */
export const TEXT_ECHO: EchoApp = {
  frame: (text) => text,
  isEcho: (message, text) => message.type === 'text' && message.data === text,
};

export interface EchoRun {
  readonly sessions: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface Figure {
  readonly setup: string;
  readonly roundTripsPerSecond: number;
  readonly failures: number;
  /** This generator's CPU share over the measured window (1 = one core). */
  readonly loadCpu: number;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One 0.6 xhr-polling session, as the browser's client runs it. */
class EchoSession {
  private sessionId = '';
  private n = 0;
  private readonly jar = new CookieJar();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 2, noDelay: true });
  roundTrips = 0;
  failures = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly app: EchoApp,
  ) {}

  async open(index: number): Promise<void> {
    const answer = await this.call('GET', `/socket.io/xhr-polling//${Date.now()}`);
    const first = decodeMessages(answer.body)[0];
    if (first?.type !== 'text') throw new Error(`no session id (status ${answer.status})`);
    this.sessionId = first.data;
    for (const frame of this.app.setup?.(index) ?? []) await this.post(frame);
  }

  /** Round trips until `until`: send one message, poll until its echo is back. */
  async run(until: number): Promise<void> {
    while (Date.now() < until) {
      const text = `echo ${this.n++}`;
      const [sent, echoed] = await Promise.all([this.send(text), this.pollFor(text, until)]);
      if (sent === 200 && echoed) this.roundTrips++;
      else this.failures++;
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private send(text: string): Promise<number> {
    return this.post(this.app.frame(text));
  }

  private post(frame: string): Promise<number> {
    const body = `data=${encodeURIComponent(encodeFrame(frame))}`;
    return this.call('POST', `/socket.io/xhr-polling/${this.sessionId}/send`, body).then((answer) => answer.status);
  }

  private async pollFor(text: string, until: number): Promise<boolean> {
    // A poll may also bring a heartbeat or come back empty at its hold time: poll again.
    for (let polls = 0; polls < 20 && Date.now() < until + REQUEST_TIMEOUT_MS; polls++) {
      const answer = await this.call('GET', `/socket.io/xhr-polling/${this.sessionId}/${Date.now()}`);
      if (answer.status !== 200) return false;
      if (decodeMessages(answer.body).some((message) => this.app.isEcho(message, text))) return true;
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

function decodeMessages(body: string): InboundMessage[] {
  if (body === '') return [];
  const decoded = decode(body);
  return decoded.ok ? decoded.value : [];
}

/** Runs `run.sessions` echo sessions against `url`: a warm-up, then the measured window. */
export async function measureEcho(setup: string, url: string, app: EchoApp, run: EchoRun): Promise<Figure> {
  const sessions = Array.from({ length: run.sessions }, () => new EchoSession(url, app));
  try {
    await Promise.all(sessions.map((session, index) => session.open(index)));
    await Promise.all(sessions.map((session) => session.run(Date.now() + run.warmupMs)));
    for (const session of sessions) session.roundTrips = session.failures = 0;
    const startedAt = Date.now();
    const cpuBefore = cpuUsage();
    await Promise.all(sessions.map((session) => session.run(startedAt + run.durationMs)));
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

/** The table both benches print: round trips per second, and each against the first setup. */
export function echoTable(title: string, figures: readonly Figure[]): string {
  const base = figures[0]?.roundTripsPerSecond ?? 1;
  return [
    `| ${title} | round trips/s | ÷ ${figures[0]?.setup ?? 'first'} | failed | generator CPU |`,
    '| --- | ---: | ---: | ---: | ---: |',
    ...figures.map(
      (figure) =>
        `| ${figure.setup} | ${figure.roundTripsPerSecond} | ${(figure.roundTripsPerSecond / base).toFixed(2)} | ${figure.failures} | ${figure.loadCpu.toFixed(2)} |`,
    ),
  ].join('\n');
}
