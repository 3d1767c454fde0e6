/**
 * Graceful shutdown: `close()` delivers what every queue accepted, tells each client in its
 * own protocol (a websocket close 1001, sac-sock close 1001, the streaming codec's `0:0:,`,
 * a last poll answer), refuses new connections meanwhile, and stays within drainTimeoutMs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'node:http';
import { WebSocket } from 'ws';
import type { DisconnectInfo } from '../../src/hub/results.js';
import type { Switchyard } from '../../src/server.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const texts = (client: { messages: Array<{ type: string; data: unknown }> }) =>
  client.messages.filter((m) => m.type === 'text').map((m) => m.data);

function recordDisconnects(server: Switchyard, infos: DisconnectInfo[]): void {
  server.onSocketDisconnect((_socket, info) => void infos.push(info));
}

describe('graceful shutdown', () => {
  let started: StartedServer | undefined;
  const pollers: LegacyPollClient[] = [];
  afterEach(async () => {
    await started?.close();
    started = undefined;
    await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  });

  it('delivers every queued message and every client sees its close, before the deadline', async () => {
    const drainTimeoutMs = 3_000;
    const infos: DisconnectInfo[] = [];
    started = await startServer({ drainTimeoutMs, pollDurationMs: 5_000, heartbeatIntervalMs: 0 }, (server) =>
      recordDisconnects(server, infos),
    );
    const server = started.server;
    // A polling session with no poll held: its messages wait in the queue.
    const idle = await LegacyPollClient.connect(started.baseUrl);
    pollers.push(idle);
    // A polling session with a poll held.
    const holding = await LegacyPollClient.connect(started.baseUrl);
    pollers.push(holding.start());
    await waitFor(() => server.getConn(holding.sessionId)?.state === 'open');
    const ws = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    const sac = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    await waitFor(() => server.connectionCount === 3 && server.sacSock?.size === 1);

    for (let i = 1; i <= 3; i++) expect(server.broadcast(`last-${i}`)).toEqual({ delivered: 4, refused: 0 });
    expect(server.getConn(idle.sessionId)?.queuedMessages).toBe(3);
    const startedAt = Date.now();
    const closing = server.close();
    // The idle client polls only now: the drain waits for it and hands it the queue.
    expect(await idle.pollOnce()).toBe(200);
    await closing;
    const elapsed = Date.now() - startedAt;
    started = undefined;

    expect(elapsed).toBeLessThan(drainTimeoutMs);
    const expected = ['last-1', 'last-2', 'last-3'];
    expect(texts(idle)).toEqual(expected);
    await holding.stop();
    expect(texts(holding)).toEqual(expected);
    expect(holding.endStatus).not.toBe(200);
    expect(texts(ws)).toEqual(expected);
    expect(await waitFor(() => ws.closeCode !== undefined).then(() => ws.closeCode)).toBe(1001);
    const sacFrames = sac.frames.map((frame) => frame.data.toString());
    expect(sacFrames).toEqual(expected.map((text) => `message\x01S\x02${text}`));
    expect(await sac.closed()).toBe(1001);
    expect(infos.map((info) => info.reason)).toEqual(['shutdown', 'shutdown', 'shutdown', 'shutdown']);
    expect(infos.map((info) => info.lostMessages)).toEqual([0, 0, 0, 0]);
  });

  it('sends the streaming codec its disconnect message after the queue, then closes 1001', async () => {
    started = await startServer({ codec: 'sio-streaming', heartbeatIntervalMs: 0 });
    const ws = new WebSocket(`${started.wsUrl}/socket.io/websocket`);
    const frames: string[] = [];
    let closeCode: number | undefined;
    ws.on('message', (data: Buffer) => frames.push(data.toString()));
    ws.on('close', (code: number) => (closeCode = code));
    await waitFor(() => frames.length === 1, { what: 'the handshake' });
    started.server.broadcast('one');
    started.server.broadcast({ two: 2 });
    await started.close();
    started = undefined;
    await waitFor(() => closeCode !== undefined, { what: 'the close' });
    expect(frames.slice(1).join('')).toBe('1:4::one,1:12:j\n:{"two":2},0:0:,');
    expect(closeCode).toBe(1001);
  });

  it('flushes the queue of a backed-up websocket session before its close', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const count = 120;
    started = await startServer({
      heartbeatIntervalMs: 0,
      maxQueueMessages: 10_000,
      maxQueueBytes: 64 * 1024 * 1024,
      wsHighWaterMarkBytes: 16 * 1024,
    });
    const legacy = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    const sac = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    // Stop reading: the server's socket buffers fill and its sends back up.
    legacy.ws.pause();
    sac.ws.pause();
    for (let i = 0; i < count; i++) expect(started.server.broadcast(`${i}:${chunk}`).refused).toBe(0);
    const conn = started.server.getConn(legacy.sessionId);
    expect(conn?.queuedMessages).toBeGreaterThan(0);
    const closing = started.server.close();
    legacy.ws.resume();
    sac.ws.resume();
    await closing;
    started = undefined;
    await waitFor(() => legacy.closeCode !== undefined && sac.closeCode !== undefined, { what: 'both closes' });
    const received = legacy.messages.map((message) => String(message.data).split(':', 1)[0]);
    expect(received).toEqual(Array.from({ length: count }, (_, i) => String(i)));
    expect(legacy.closeCode).toBe(1001);
    expect(sac.frames).toHaveLength(count);
    expect(sac.closeCode).toBe(1001);
  });

  it('reports as lost what no poll came for before the deadline', async () => {
    const infos: DisconnectInfo[] = [];
    started = await startServer({ drainTimeoutMs: 300, heartbeatIntervalMs: 0 }, (server) =>
      recordDisconnects(server, infos),
    );
    await LegacyPollClient.connect(started.baseUrl);
    started.server.broadcast('a');
    started.server.broadcast('b');
    const startedAt = Date.now();
    await started.close();
    started = undefined;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(infos).toEqual([{ reason: 'shutdown', lostMessages: 2 }]);
  });

  it('cuts websockets whose clients never answer the close, at the deadline', async () => {
    started = await startServer({ drainTimeoutMs: 300, heartbeatIntervalMs: 0 });
    const legacy = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    const sac = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    legacy.ws.pause();
    sac.ws.pause();
    const startedAt = Date.now();
    await started.close();
    started = undefined;
    const elapsed = Date.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    // The server has cut both connections; reading again, each client sees its end.
    legacy.ws.resume();
    sac.ws.resume();
    await waitFor(() => legacy.closeCode !== undefined && sac.closeCode !== undefined, { what: 'both closes' });
  });

  it('refuses new sessions and sockets while draining, but serves existing sessions', async () => {
    started = await startServer({ drainTimeoutMs: 5_000, heartbeatIntervalMs: 0 });
    const idle = await LegacyPollClient.connect(started.baseUrl);
    pollers.push(idle);
    started.server.broadcast('queued');
    const closing = started.server.close();
    const fresh = await fetch(`${started.baseUrl}/socket.io/xhr-polling//${Date.now()}`);
    expect(fresh.status).toBe(503);
    expect(await fresh.json()).toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
    const upgrade = await rawUpgrade(`${started.baseUrl}/socket`);
    expect(upgrade.status).toBe(503);
    expect(JSON.parse(upgrade.body)).toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
    expect(await idle.pollOnce()).toBe(200);
    expect(texts(idle)).toEqual(['queued']);
    await closing;
    started = undefined;
  });

  it('answers requests that come 0–80 ms into a shutdown, on idle keep-alive sockets too: 200 or 503, never a reset', async () => {
    started = await startServer({ drainTimeoutMs: 2_000, heartbeatIntervalMs: 0 });
    const { baseUrl, server } = started;
    const idle = await LegacyPollClient.connect(baseUrl);
    pollers.push(idle);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const ask = (path: string, method = 'GET') =>
      new Promise<{ status: number; connection?: string } | { error: string }>((resolve) => {
        const req = request(`${baseUrl}${path}`, { agent, method }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
        req.end(method === 'POST' ? 'data=~m~1~m~x' : undefined);
      });
    // Four idle keep-alive sockets in the agent's pool, as a browser keeps them.
    await Promise.all([1, 2, 3, 4].map((i) => ask(`/socket.io/xhr-polling//${i}`)));
    const closing = server.close();
    const answers = await Promise.all(
      [0, 10, 20, 30, 40, 50, 60, 70, 80].map(
        (delayMs, i) =>
          new Promise<Awaited<ReturnType<typeof ask>>>((resolve) =>
            setTimeout(() => {
              const path = `/socket.io/xhr-polling/${i % 2 === 0 ? idle.sessionId : ''}/${delayMs}`;
              void ask(
                i % 3 === 0 ? `/socket.io/xhr-polling/${idle.sessionId}/send` : path,
                i % 3 === 0 ? 'POST' : 'GET',
              ).then(resolve);
            }, delayMs),
          ),
      ),
    );
    await closing;
    started = undefined;
    agent.destroy();
    expect(answers.filter((answer) => 'error' in answer)).toEqual([]);
    for (const answer of answers) expect([200, 404, 503]).toContain((answer as { status: number }).status);
    // Once the drain is over, an answer closes its socket.
    const late = answers.filter((answer) => 'status' in answer && answer.status === 503);
    expect(late.length).toBeGreaterThan(0);
  });

  it('installs signal handlers only when asked, and removes them on close', async () => {
    const before = process.listenerCount('SIGTERM');
    started = await startServer({ handleSignals: true });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(process.listenerCount('SIGINT')).toBeGreaterThan(0);
    await started.close();
    started = undefined;
    expect(process.listenerCount('SIGTERM')).toBe(before);
    started = await startServer({});
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
