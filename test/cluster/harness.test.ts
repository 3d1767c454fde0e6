/**
 * The cluster test harness itself, on one cluster of three node processes behind HAProxy
 * (test/helpers/cluster.ts): per-request round-robin on one keep-alive connection, the
 * protocol clients that fail as the 0.6 browser client does (with their cookie jars), a node
 * SIGKILLed mid-stream and marked down, its restart, and a stop that leaves nothing behind.
 * What the cluster core will change (sessions kept across nodes) is recorded here, not
 * asserted: session ids are counted per connect.
 */
import { Agent } from 'node:http';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { nodeOfSession, numbered, requestLog, startBroadcasts, whoami } from '../helpers/cluster-app.js';
import { PollingClient, WebSocketClient, type LegacySocket } from '../helpers/legacy-socket.js';
import { report } from '../helpers/report.js';
import { waitFor } from '../helpers/wait-for.js';
import { cookieNameOf } from '../../src/transports/session-cookie.js';

const NODE_OPTIONS = { heartbeatIntervalMs: 300, heartbeatTimeoutMs: 5_000, pollDurationMs: 1_000 };
/** The session cookie's name for `sessionId` (default prefix), as the server sets it. */
const cookieOf = (sessionId: string) => cookieNameOf('sy.sid', sessionId);

let cluster: Cluster;
const clients: LegacySocket[] = [];
const track = <T extends LegacySocket>(client: T): T => {
  clients.push(client);
  return client;
};

beforeAll(async () => {
  // The harness itself, on fan-out alone: what the cluster sessions change is in the other files.
  cluster = await startCluster({ nodes: 3, nodeOptions: NODE_OPTIONS, mode: 'fanout' });
}, 120_000);
afterAll(async () => {
  clients.forEach((client) => client.close());
  await cluster?.stop();
});

/** Connects websocket clients through HAProxy until one holds a session on `name` (at most six). */
async function webSocketClientOn(name: string): Promise<WebSocketClient> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const client = track(await WebSocketClient.connect(cluster.url));
    if ((await nodeOfSession(cluster, client.sessionId)) === name) return client;
    client.close();
  }
  throw new Error(`no websocket session landed on ${name}`);
}

/** The Cookie header of the latest websocket upgrade on the node that holds `sessionId`. */
async function lastUpgradeCookie(sessionId: string): Promise<string | undefined> {
  const node = await nodeOfSession(cluster, sessionId);
  const upgrades = (await requestLog(cluster)).filter((entry) => entry.node === node && entry.method === 'UPGRADE');
  return upgrades.at(-1)?.cookie;
}

const isRunning = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: no such process
  }
};

describe('the cluster', () => {
  it('runs every node as a process of its own, each answering with its name, behind HAProxy', async () => {
    const pids = cluster.nodes.map((node) => node.pid);
    expect(new Set(pids).size).toBe(3);
    expect(pids).not.toContain(process.pid);
    expect(isRunning(cluster.haproxyPid)).toBe(true);
    for (const node of cluster.nodes) expect((await whoami(node.url)).name).toBe(node.name);
    expect((await cluster.haproxy!.stats()).map((row) => `${row.name} ${row.status}`)).toEqual([
      'n1 UP',
      'n2 UP',
      'n3 UP',
    ]);
  });

  it('balances each request of ONE keep-alive connection round-robin over all nodes', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<Socket>();
    const names: string[] = [];
    for (let request = 0; request < 9; request++) {
      const answer = await whoami(cluster.url, agent);
      sockets.add(answer.socket);
      names.push(answer.name);
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
    expect(new Set(names)).toEqual(new Set(['n1', 'n2', 'n3']));
    // A strict rotation: every node once in each three requests, in the same order.
    expect(names.slice(3)).toEqual(names.slice(0, 6));
    expect(new Set(names.slice(0, 3)).size).toBe(3);
  });
});

describe('the protocol clients', () => {
  it('WebSocketClient: echo, heartbeats echoed, 300 numbered broadcasts of another node each once, cookies on the upgrade', async () => {
    const client = await webSocketClientOn('n2');
    client.send('hello');
    client.send({ json: ['é', '😀'] });
    await client.waitForMessages((messages) => messages.length >= 2);
    expect(client.messages.slice(0, 2)).toEqual(['hello', { json: ['é', '😀'] }]);
    await waitFor(() => client.heartbeats.length >= 2, { what: 'two heartbeats' });

    await startBroadcasts(cluster.node('n1').url, { count: 300, tag: 'ws' });
    await client.waitForMessages((messages) => messages.includes('ws:300'), 10_000, 'the 300th broadcast');
    expect(client.texts().filter((text) => text.startsWith('ws:'))).toEqual(numbered('ws', 300));
    expect(client.sessionIds).toEqual([client.sessionId]);

    // The 101 set the session cookie; a second tab of the same browser sends it on its upgrade.
    expect(client.jar.get(cookieOf(client.sessionId))?.value).toMatch(new RegExp(`^${client.sessionId}\\.\\d+$`));
    const tab = track(await WebSocketClient.connect(cluster.url, { jar: client.jar }));
    const cookie = await lastUpgradeCookie(tab.sessionId);
    expect(cookie).toContain(`${cookieOf(client.sessionId)}=${client.sessionId}.`);
    expect(cookie).toContain('socketio=websocket');
    expect(tab.sessionId).not.toBe(client.sessionId);
  });

  it('PollingClient (one node): echo, 300 numbered broadcasts each once in order, every request carrying the cookies', async () => {
    const node = cluster.node('n2');
    const client = track(await PollingClient.connect(node.url));
    client.send('hello');
    await client.waitForMessages((messages) => messages.includes('hello'));

    await startBroadcasts(cluster.node('n1').url, { count: 300, tag: 'poll' });
    await client.waitForMessages((messages) => messages.includes('poll:300'), 10_000, 'the 300th broadcast');
    expect(client.texts().filter((text) => text.startsWith('poll:'))).toEqual(numbered('poll', 300));
    expect(client.sessionIds).toEqual([client.sessionId]);
    expect(client.errors).toEqual([]);

    // Every poll and POST carries the cookie the answers before it set; its number acknowledges
    // what arrived, so a poll after the last answer acknowledges all 300.
    const ownCookie = new RegExp(`${cookieOf(client.sessionId)}=${client.sessionId}\\.(\\d+)`);
    const requests = async () =>
      (await requestLog(cluster)).filter((entry) => entry.url.includes(`/${client.sessionId}/`));
    await waitFor(async () => (await requests()).some((entry) => Number(ownCookie.exec(entry.cookie)?.[1]) >= 300), {
      what: 'a poll acknowledging every broadcast',
    });
    expect((await requests()).some((entry) => entry.method === 'POST')).toBe(true);
    for (const entry of await requests()) expect(entry.cookie).toMatch(ownCookie);
  });
});

describe('a node killed mid-stream', () => {
  it('is marked down by HAProxy while the others answer; clients reconnect as 0.6 does; it comes back on restart', async () => {
    const victim = cluster.node('n3');
    const webSocket = await webSocketClientOn('n3');
    // Directly on the node, past HAProxy: its reconnects meet the dead node until the restart.
    const polling = track(await PollingClient.connect(victim.url, { reconnectionDelayMs: 100 }));
    await startBroadcasts(cluster.node('n1').url, { count: 300, intervalMs: 10, tag: 'kill' });
    await webSocket.waitForMessages((messages) => messages.includes('kill:100'), 10_000, 'the 100th broadcast');

    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    expect(victim.isRunning).toBe(false);
    await cluster.waitForDown('n3');
    report(`cluster: HAProxy marked a SIGKILLed node down after ${Date.now() - killedAt} ms`);
    for (let request = 0; request < 4; request++) expect((await whoami(cluster.url)).name).not.toBe('n3');

    // The websocket client reconnects through HAProxy to a living node (a new session today).
    await webSocket.waitForMessages((messages) => messages.includes('kill:300'), 15_000, 'the last broadcast');
    const received = webSocket.texts().filter((text) => text.startsWith('kill:'));
    const numbers = received.map((text) => Number(text.slice('kill:'.length)));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(webSocket.sessionIds).toHaveLength(2);
    expect(webSocket.reconnects).toBe(1);
    // Its new handshake named the old session in the cookie (unknown on the other node today).
    const [lost] = webSocket.sessionIds;
    expect(await lastUpgradeCookie(webSocket.sessionId)).toContain(`${cookieOf(lost!)}=${lost}.`);
    report(`cluster: websocket client lost ${300 - received.length} of 300 broadcasts over a node kill (fan-out only)`);

    await waitFor(() => polling.reconnectAttempts >= 2, { what: 'two reconnect attempts' });
    await victim.restart();
    expect(victim.isRunning).toBe(true);
    await polling.waitForConnect(15_000);
    expect(polling.sessionIds).toHaveLength(2);
    expect(polling.reconnects).toBe(1);
    expectReconnectSchedule(polling, 100);
    // The restarted node knew nothing of the old session: its cookie was deleted (Max-Age=0).
    const [gone, current] = polling.sessionIds;
    expect(polling.jar.get(cookieOf(gone!))).toBeUndefined();
    expect(polling.jar.get(cookieOf(current!))?.value).toMatch(new RegExp(`^${current}\\.\\d+$`));
    expect((await cluster.haproxy!.stats()).find((row) => row.name === 'n3')?.status).toBe('UP');
  }, 60_000);
});

/** 0.6's schedule: first attempt one delay after the drop, each next one a doubled delay later. */
function expectReconnectSchedule(client: LegacySocket, baseDelayMs: number): void {
  const disconnect = client.events.find((event) => event.name === 'disconnect');
  const attempts = client.events.filter((event) => event.name === 'reconnecting');
  expect(disconnect).toBeDefined();
  expect(attempts.length).toBeGreaterThanOrEqual(2);
  // Timers never fire early by more than a millisecond of rounding.
  const slack = 2;
  expect(attempts[0]!.at - disconnect!.at).toBeGreaterThanOrEqual(baseDelayMs - slack);
  for (let k = 1; k < attempts.length; k++) {
    expect(attempts[k]!.at - attempts[k - 1]!.at).toBeGreaterThanOrEqual(baseDelayMs * 2 ** k - slack);
  }
}

describe('stop()', () => {
  it('ends exactly the processes it started and removes their files', async () => {
    const pids = [...cluster.nodes.map((node) => node.pid), cluster.haproxyPid];
    const haproxyDir = dirname(cluster.haproxy!.configPath);
    clients.forEach((client) => client.close());
    await cluster.stop();
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(existsSync(haproxyDir)).toBe(false);
    expect(cluster.nodes.every((node) => !node.isRunning)).toBe(true);
  });
});
