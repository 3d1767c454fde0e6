/**
 * Cluster-wide rooms and presence with real parts: three node processes on one redis-server
 * behind the round-robin HAProxy, 0.6 clients on xhr-polling and websocket, a sac-sock socket,
 * and a node SIGKILLed.
 *
 * - every node answers the same members, counts, rooms and session descriptions, within the
 *   stated freshness (a change is visible once Redis has it; held to FRESHNESS_MS here);
 * - each real join and leave is one presence event in the whole cluster;
 * - after the SIGKILL: the sessions of the dead node resume elsewhere without a leave or a
 *   join, its sac-sock socket leaves once (`node-down`), and a session whose client never
 *   came back leaves once (`ended`) when its window ends on the node that took it over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { nodeOfSession } from '../helpers/cluster-app.js';
import { PollingClient, WebSocketClient, type LegacySocket } from '../helpers/legacy-socket.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { waitFor } from '../helpers/wait-for.js';

const NODE_OPTIONS = {
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 10_000,
  pollDurationMs: 2_000,
  reconnectWindowMs: 4_000,
};
/** The freshness the tests hold every node to (docs/cluster.md states it), generous for two busy cores. */
const FRESHNESS_MS = 2_000;

interface SeenEvent {
  readonly type: 'join' | 'leave';
  readonly room: string;
  readonly memberId: string;
  readonly nodeId: string;
  readonly at: number;
  readonly reason?: string;
}

let cluster: Cluster;
const clients: LegacySocket[] = [];
const sockets: SacSockTestClient[] = [];
/** Every node process's presence log, by pid: a killed node's last one stays. */
const logs = new Map<number, SeenEvent[]>();

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, nodeOptions: NODE_OPTIONS });
}, 120_000);
afterAll(async () => {
  clients.forEach((client) => client.close());
  sockets.forEach((socket) => socket.close());
  await cluster?.stop();
});

async function getJson<T>(url: string): Promise<T> {
  const answer = await fetch(url);
  if (answer.status !== 200) throw new Error(`${url} answered ${answer.status}: ${await answer.text()}`);
  return (await answer.json()) as T;
}

const running = () => cluster.nodes.filter((node) => node.isRunning);

/** Every presence event of the cluster so far, oldest first (the running nodes asked now, the dead ones as last seen). */
async function presence(): Promise<SeenEvent[]> {
  for (const node of running()) {
    const { pid, events } = await getJson<{ pid: number; events: SeenEvent[] }>(`${node.url}/test/presence`);
    logs.set(pid, events);
  }
  return [...logs.values()].flat().sort((a, b) => a.at - b.at);
}

const eventsOf = (events: SeenEvent[], memberId: string, room?: string) =>
  events.filter((event) => event.memberId === memberId && (room === undefined || event.room === room));

interface RoomAnswer {
  readonly members: string[];
  readonly count: number;
}

/** Waits until every running node answers `members` (and their count) for `room`. */
async function expectRoomEverywhere(room: string, members: readonly string[], timeoutMs = FRESHNESS_MS): Promise<void> {
  const expected = [...members].sort();
  let last: RoomAnswer[] = [];
  await waitFor(
    async () => {
      last = await Promise.all(running().map((node) => getJson<RoomAnswer>(`${node.url}/test/room/${room}`)));
      return last.every((answer) => answer.count === expected.length && sameList(answer.members, expected));
    },
    { timeoutMs, intervalMs: 50, what: `every node to agree on ${room}: ${JSON.stringify(last)}` },
  ).catch((error: Error) => {
    const seen = last.map((a) => a.members.filter((m) => !expected.includes(m)));
    const missing = last.map((a) => expected.filter((m) => !a.members.includes(m)));
    throw new Error(`${error.message}; extra ${JSON.stringify(seen)}, missing ${JSON.stringify(missing)}`);
  });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/** A client's first session id: it keeps it across nodes (sessionId is '' while it reconnects). */
function idOf(client: LegacySocket): string {
  return client.sessionIds[0] ?? '';
}

function track<T extends LegacySocket>(client: T): T {
  clients.push(client);
  return client;
}

describe('three nodes behind HAProxy', () => {
  const lobby: LegacySocket[] = [];
  const alsoB: LegacySocket[] = [];

  it('agree on rooms, members, counts and sessions; every join is one presence event', async () => {
    for (let i = 0; i < 6; i++) {
      lobby.push(track(await PollingClient.connect(cluster.url)), track(await WebSocketClient.connect(cluster.url)));
    }
    for (const [index, client] of lobby.entries()) {
      client.send({ join: 'lobby' });
      if (index % 2 === 0) {
        client.send({ join: 'room-b' });
        alsoB.push(client);
      }
    }
    const ids = lobby.map((client) => idOf(client));
    await expectRoomEverywhere('lobby', ids);
    await expectRoomEverywhere(
      'room-b',
      alsoB.map((client) => idOf(client)),
    );
    for (const node of running()) {
      expect((await getJson<{ count: number }>(`${node.url}/test/room-count`)).count).toBe(2);
      const member = await getJson<{ rooms: string[]; inLobby: boolean }>(`${node.url}/test/member/${ids[0]}`);
      expect(member).toEqual({ rooms: [`__socket_id:${ids[0]}`, 'lobby', 'room-b'].sort(), inLobby: true });
      const { session } = await getJson<{
        session: { id: string; nodeId: string; rooms: string[]; connected: boolean };
      }>(`${node.url}/test/describe/${ids[1]}`);
      expect(session).toMatchObject({ id: ids[1], nodeId: await nodeOfSession(cluster, ids[1]!), connected: true });
      expect(session.rooms).toEqual(['lobby']);
    }
    expect((await getJson<{ session: unknown }>(`${cluster.url}/test/describe/nosuchsession`)).session).toBeNull();
    const events = await presence();
    for (const client of lobby) {
      const expected = alsoB.includes(client) ? ['lobby', 'room-b'] : ['lobby'];
      expect(
        eventsOf(events, idOf(client))
          .map((event) => `${event.type}:${event.room}`)
          .sort(),
      ).toEqual(expected.map((room) => `join:${room}`));
    }
  }, 60_000);

  it('a leave and a session that ends are one leave event each', async () => {
    const leaving = alsoB.slice(0, 2);
    leaving.forEach((client) => client.send({ leave: 'room-b' }));
    await expectRoomEverywhere(
      'room-b',
      alsoB.slice(2).map((client) => idOf(client)),
    );
    const ending = lobby.find((client) => !alsoB.includes(client))!;
    ending.disconnect();
    lobby.splice(lobby.indexOf(ending), 1);
    // The session ends when its reconnect window does.
    await expectRoomEverywhere(
      'lobby',
      lobby.map((client) => idOf(client)),
      NODE_OPTIONS.reconnectWindowMs + 3 * FRESHNESS_MS,
    );
    await waitFor(async () => eventsOf(await presence(), idOf(ending), 'lobby').length === 2, {
      timeoutMs: FRESHNESS_MS,
      what: 'the leave event of the ended session',
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${idOf(ending)} ${JSON.stringify(await presence())}`);
    });
    const events = await presence();
    for (const client of leaving) {
      expect(eventsOf(events, idOf(client), 'room-b').map((e) => `${e.type}:${e.reason ?? ''}`)).toEqual([
        'join:',
        'leave:left',
      ]);
    }
    expect(eventsOf(events, idOf(ending), 'lobby').map((e) => `${e.type}:${e.reason ?? ''}`)).toEqual([
      'join:',
      'leave:ended',
    ]);
  }, 60_000);

  it('a SIGKILLed node: its sessions move without a leave or a join; its socket and an abandoned session leave once', async () => {
    const victim = cluster.node('n3');
    const socket = await SacSockTestClient.connect(`${victim.url.replace('http', 'ws')}/socket`);
    sockets.push(socket);
    socket.emit('join', 'lobby');
    const socketId = await waitForSocketId(victim.url, lobby);
    const onVictim: LegacySocket[] = [];
    for (const client of lobby) if ((await nodeOfSession(cluster, idOf(client))) === 'n3') onVictim.push(client);
    expect(onVictim.length).toBeGreaterThan(1);
    // One client on the victim goes silent for good: its session is taken over, then ends.
    const abandoned = onVictim[0]!;
    abandoned.close();
    const staying = lobby.filter((client) => client !== abandoned);
    const before = await presence();
    await victim.kill('SIGKILL');
    await expectRoomEverywhere(
      'lobby',
      staying.map((client) => idOf(client)),
      NODE_OPTIONS.reconnectWindowMs + 15_000,
    );
    await waitFor(async () => eventsOf(await presence(), idOf(abandoned), 'lobby').length === 2, {
      timeoutMs: FRESHNESS_MS,
      what: 'the leave event of the abandoned session',
    });
    const after = await presence();
    expect(eventsOf(after, socketId, 'lobby').map((e) => `${e.type}:${e.reason ?? ''}`)).toEqual([
      'join:',
      'leave:node-down',
    ]);
    expect(eventsOf(after, idOf(abandoned), 'lobby').map((e) => `${e.type}:${e.reason ?? ''}`)).toEqual([
      'join:',
      'leave:ended',
    ]);
    for (const client of staying) {
      expect(new Set(client.sessionIds).size).toBe(1);
      expect(eventsOf(after, idOf(client))).toEqual(eventsOf(before, idOf(client)));
    }
    // The moved sessions now live on n1 and n2.
    for (const client of onVictim.slice(1)) expect(['n1', 'n2']).toContain(await nodeOfSession(cluster, idOf(client)));
  }, 90_000);
});

/** The sac-sock socket's id: the lobby member on `nodeUrl` that is none of the 0.6 clients. */
async function waitForSocketId(nodeUrl: string, lobby: readonly LegacySocket[]): Promise<string> {
  const sessions = new Set(lobby.map((client) => idOf(client)));
  let id = '';
  await waitFor(
    async () => {
      const { members } = await getJson<RoomAnswer>(`${nodeUrl}/test/room/lobby`);
      id = members.find((member) => !sessions.has(member)) ?? '';
      return id !== '';
    },
    { timeoutMs: FRESHNESS_MS, what: 'the sac-sock socket in the lobby' },
  );
  return id;
}
