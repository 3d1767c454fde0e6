/**
 * A websocket client that stops reading (its TCP window fills) while the application sends
 * it 50 MB. The session's queue policy must handle it without the server's memory growing
 * by anything like 50 MB, and broadcasts to a healthy client must not wait on it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Conn } from '../../src/session/conn.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import type { Switchyard } from '../../src/server.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { rawWebSocket } from '../helpers/raw-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { report } from '../helpers/report.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { privateRoom } from '../../src/hub/adapter.js';
import type { Member } from '../../src/hub/member.js';
import { PreparedMessage } from '../../src/hub/prepared.js';
import { retainedBytes } from '../helpers/memory.js';

const TOTAL_BYTES = 50 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** Retained growth allowed: queue bound (1 MiB) + one websocket high-water mark + noise. */
const RETAINED_TOLERANCE_BYTES = 8 * 1024 * 1024;
/** A broadcast tick must reach the healthy client this fast while the slow one is stuck. */
const TICK_LATENCY_BOUND_MS = 1_000;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Sends 50 MB to `slow` in batches, broadcasting a tick to everyone after each batch. */
async function flood(server: Switchyard, slow: Conn, ticks: Map<number, number>): Promise<number> {
  let accepted = 0;
  const batches = TOTAL_BYTES / CHUNK_BYTES / 8;
  for (let batch = 0; batch < batches; batch++) {
    for (let i = 0; i < 8; i++) {
      // Distinct strings, so nothing is shared between frames that a leak could hide behind.
      const chunk = `${batch}-${i}-`.padEnd(CHUNK_BYTES, 'x');
      if (slow.send(chunk).ok) accepted += CHUNK_BYTES;
    }
    ticks.set(batch, Date.now());
    server.broadcast(`tick ${batch}`);
    await nextTurn();
  }
  return accepted;
}

describe('slow consumer: a websocket that stops reading while 50 MB are sent to it', () => {
  let started: StartedServer;
  afterEach(() => started.close());

  it.each(['close', 'refuse'] as const)(
    'queueOverflow %s: bounded memory, healthy client unaffected',
    async (policy) => {
      expect(globalThis.gc, 'vitest must run with --expose-gc').toBeTypeOf('function');
      const closes: DisconnectInfo[] = [];
      const errors: string[] = [];
      started = await startServer({ queueOverflow: policy, heartbeatIntervalMs: 0 }, (server) => {
        server.onDisconnect((_conn, info) => closes.push(info));
        server.on('error', (error) => errors.push((error as { code?: string }).code ?? error.message));
      });
      const port = Number(new URL(started.baseUrl).port);
      const healthy = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
      const stuck = await rawWebSocket(port, '/socket.io/websocket', 20);
      stuck.socket.pause();
      const slow = [...started.server.registry.values()].find((conn) => conn.sessionId !== healthy.sessionId)!;
      const received = new Map<number, number>();
      healthy.ws.on('message', (data) => {
        const match = /tick (\d+)/.exec(data.toString());
        if (match) received.set(Number(match[1]), Date.now());
      });
      const baseline = await retainedBytes();
      const sent = new Map<number, number>();
      const accepted = await flood(started.server, slow, sent);
      const retained = (await retainedBytes()) - baseline;
      await waitFor(() => received.size === sent.size, { what: 'every tick at the healthy client' });
      const worstLatency = Math.max(...[...sent].map(([tick, at]) => received.get(tick)! - at));

      // Accepted before the policy bites: the kernel's socket buffers (a few MB on loopback),
      // one high-water mark in ws, then the 1 MiB queue. Far from 50 MB either way.
      report(
        `slow consumer (${policy}): accepted ${accepted} B, retained ${retained} B, worst tick ${worstLatency} ms`,
      );
      expect(accepted).toBeLessThan(10 * 1024 * 1024);
      expect(retained).toBeLessThan(RETAINED_TOLERANCE_BYTES);
      expect(worstLatency).toBeLessThan(TICK_LATENCY_BOUND_MS);
      if (policy === 'close') {
        expect(slow.state).toBe('closed');
        const info = closes.find((c) => c.reason === 'queue-overflow')!;
        expect(info.error?.code).toBe('ERR_QUEUE_OVERFLOW');
        // The loss is counted: queued frames, and frames the socket had not confirmed.
        expect(info.lostMessages + (info.unsettledMessages ?? 0)).toBeGreaterThan(0);
      } else {
        expect(slow.state).toBe('open');
        expect(slow.queueOverflows).toBeGreaterThan(0);
        expect(slow.queuedMessages).toBeGreaterThan(0);
      }
      expect(started.server.getConn(healthy.sessionId)?.state).toBe('open');
      stuck.socket.destroy();
      healthy.close();
    },
  );
});

/**
 * The same flood against a stuck sac-sock socket and a stuck plain endpoint connection, sent
 * through `deliver` (what roomcasts and broadcasts use): bounded by the member's own buffer
 * and `queueOverflow`, with a healthy sac-sock client's ticks unaffected.
 */
describe.each([
  { kind: 'sac-sock', path: '/socket' },
  { kind: 'plain endpoint', path: '/stuck' },
] as const)('slow consumer: a $kind connection that stops reading while 50 MB are sent to it', ({ kind, path }) => {
  let started: StartedServer;
  afterEach(() => started.close());

  it.each(['close', 'refuse'] as const)('queueOverflow %s: bounded memory, loss counted', async (policy) => {
    expect(globalThis.gc, 'vitest must run with --expose-gc').toBeTypeOf('function');
    const members: Member[] = [];
    const sacSockCloses: DisconnectInfo[] = [];
    let plainDone: Promise<{ code: number; lostMessages: number; error?: { code: string } }> | undefined;
    started = await startServer({ queueOverflow: policy, heartbeatIntervalMs: 0 }, (server) => {
      server.onSocketConnect((socket) => {
        if (socket.protocol === 'sac-sock') members.push(socket as unknown as Member);
      });
      server.onSocketDisconnect((_socket, info) => {
        sacSockCloses.push(info);
      });
      server.websocket(
        '/stuck',
        { mode: 'text', pingIntervalMs: 0, queueOverflow: policy, closeTimeoutMs: 200 },
        (conn) => {
          members.push(conn);
          plainDone = conn.done;
        },
      );
    });
    const port = Number(new URL(started.baseUrl).port);
    const healthy = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    const stuck = await rawWebSocket(port, path);
    stuck.socket.pause();
    await waitFor(() => members.length === 2, { what: 'both server-side members' });
    // The healthy sac-sock client connected first.
    const [fine, slow] = members as [Member, Member];
    const baseline = await retainedBytes();
    let accepted = 0;
    let refused = 0;
    const sent = new Map<number, number>();
    for (let batch = 0; batch < TOTAL_BYTES / CHUNK_BYTES / 8; batch++) {
      for (let i = 0; i < 8; i++) {
        const result = slow.deliver(new PreparedMessage(`${batch}-${i}-`.padEnd(CHUNK_BYTES, 'x'), 'flood'));
        if (result.ok) accepted += CHUNK_BYTES;
        else refused++;
      }
      sent.set(batch, Date.now());
      started.server.to(privateRoom(fine.id)).emit('tick', batch);
      await nextTurn();
    }
    const retained = (await retainedBytes()) - baseline;
    await waitFor(() => healthy.frames.filter((f) => f.data.toString().startsWith('tick')).length === sent.size, {
      what: 'every tick at the healthy client',
    });
    report(`slow ${kind} (${policy}): accepted ${accepted} B, refused ${refused}, retained ${retained} B`);
    expect(accepted).toBeLessThan(10 * 1024 * 1024);
    expect(retained).toBeLessThan(RETAINED_TOLERANCE_BYTES);
    expect(refused).toBeGreaterThan(0);
    if (policy === 'close') {
      if (kind === 'sac-sock') {
        await waitFor(() => sacSockCloses.some((c) => c.reason === 'queue-overflow'), { what: 'the overflow close' });
        const info = sacSockCloses.find((c) => c.reason === 'queue-overflow')!;
        expect(info.error?.code).toBe('ERR_QUEUE_OVERFLOW');
        expect(info.unsettledMessages).toBeGreaterThan(0);
      } else {
        // Closed with 1013; the peer reads nothing, so its status is 1006 (no close frame came).
        const done = await plainDone!;
        expect(done.error?.code).toBe('ERR_QUEUE_OVERFLOW');
        expect(done.lostMessages).toBeGreaterThan(0);
      }
    }
    stuck.socket.destroy();
    healthy.close();
  });
});
