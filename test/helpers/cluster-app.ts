/**
 * The test application's routes on a cluster node (test/cluster/node-server.ts), for tests:
 * which node answered, numbered broadcasts, and what every node received.
 */
import { request, type Agent } from 'node:http';
import type { Socket } from 'node:net';
import { redactSessionId } from '../../src/hub/ids.js';
import type { Cluster } from './cluster.js';
import type { LegacySocket } from './legacy-socket.js';

export interface WhoAmI {
  readonly name: string;
  readonly pid: number;
  /** 0.6 sessions on that node. */
  readonly sessions: number;
  readonly broadcastsSent: number;
}

export interface LoggedRequest {
  readonly node: string;
  readonly method: string;
  readonly url: string;
  readonly cookie: string;
}

/** `GET /test/whoami` at `baseUrl` (a node, or HAProxy); with `agent`, over its connections. */
export function whoami(baseUrl: string, agent?: Agent): Promise<WhoAmI & { socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/test/whoami`, agent === undefined ? {} : { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`whoami answered ${res.statusCode}: ${body}`));
        resolve({ ...(JSON.parse(body) as WhoAmI), socket: req.socket as Socket });
      });
    });
    req.setTimeout(5_000, () => req.destroy(new Error('whoami timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts numbered broadcasts on the node at `nodeUrl` ("<tag>:1" … "<tag>:<count>", one every
 * `intervalMs`); resolves once the node has accepted the run, not when it is done.
 */
export async function startBroadcasts(
  nodeUrl: string,
  { count, intervalMs = 0, tag = 'b' }: { count: number; intervalMs?: number; tag?: string },
): Promise<void> {
  const query = new URLSearchParams({ count: String(count), intervalMs: String(intervalMs), tag });
  const answer = await fetch(`${nodeUrl}/test/broadcast?${query}`, { method: 'POST' });
  if (answer.status !== 202) throw new Error(`broadcast answered ${answer.status}: ${await answer.text()}`);
}

/** The expected texts of a broadcast run: "<tag>:1" … "<tag>:<count>". */
export function numbered(tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${tag}:${index + 1}`);
}

/** What every running node received on the 0.6 resource (oldest first per node). */
export async function requestLog(cluster: Cluster): Promise<LoggedRequest[]> {
  const logs = await Promise.all(
    cluster.nodes
      .filter((node) => node.isRunning)
      .map(async (node) => {
        const entries = (await (await fetch(`${node.url}/test/requests`)).json()) as Omit<LoggedRequest, 'node'>[];
        return entries.map((entry) => ({ node: node.name, ...entry }));
      }),
  );
  return logs.flat();
}

/** The running node that holds 0.6 session `sessionId`, if any. */
export async function nodeOfSession(cluster: Cluster, sessionId: string): Promise<string | undefined> {
  const running = cluster.nodes.filter((node) => node.isRunning);
  const answers = await Promise.all(
    running.map(async (node) =>
      (await fetch(`${node.url}/test/session/${sessionId}`)).status === 200 ? node.name : '',
    ),
  );
  return answers.find((name) => name !== '');
}

/** 0.6 sessions per running node, by name. */
export async function sessionsPerNode(cluster: Cluster): Promise<Record<string, number>> {
  const running = cluster.nodes.filter((node) => node.isRunning);
  const answers = await Promise.all(running.map((node) => whoami(node.url)));
  return Object.fromEntries(answers.map((answer) => [answer.name, answer.sessions]));
}

/** The broadcasts a client received, as numbers, in arrival order. */
export function numbersOf(client: LegacySocket, tag: string): number[] {
  return client
    .texts()
    .filter((text) => text.startsWith(`${tag}:`))
    .map((text) => Number(text.slice(tag.length + 1)));
}

/** What a client went through, for an assertion that fails: its sessions, reconnects, last events. */
export function story(client: LegacySocket): string {
  const events = client.events
    .slice(-6)
    .map((event) => `${event.name}${event.detail === undefined ? '' : `(${event.detail})`}`);
  return `sessions ${client.sessionIds.join(',')}; ${client.reconnects} reconnects; ${events.join(' → ')}`;
}

/**
 * Runs `check`; when it fails, adds the client's story and what the nodes logged about its
 * first session (a cluster started with `keepLogLines` and debug logs).
 */
export function explained(cluster: Cluster, client: LegacySocket, check: () => void): void {
  try {
    check();
  } catch (error) {
    const first = client.sessionIds[0];
    const lines = first === undefined ? [] : cluster.logsMentioning(redactSessionId(first));
    (error as Error).message +=
      `\n${story(client)}\nwhat the nodes logged of ${first ?? 'no session'}:\n${lines.slice(-40).join('\n')}`;
    throw error;
  }
}
