/**
 * One room, three protocols' worth of members: a 0.6 websocket session, a 0.6 xhr-polling
 * session and two sac-sock sockets. Each gets a roomcast in its own wire format; except
 * and leave are honoured; the 0.6 `{event, data}` convention feeds the same handlers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import type { Conn } from '../../src/session/conn.js';
import type { Switchyard } from '../../src/server.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const envelope = (event: string, data: unknown) => '~j~' + JSON.stringify({ event, data });
const isEvent =
  (event: string) =>
  (message: InboundMessage): boolean =>
    message.type === 'json' && (message.data as { event?: unknown }).event === event;

/** join / leave events answering `joined` / `left`, identical for every protocol. */
function roomHandlers(server: Switchyard, seen: Array<{ protocol: string; data: string }>): void {
  server.onEvent('join', (socket, data) => {
    seen.push({ protocol: socket.protocol, data: data.toString() });
    socket.join(data.toString());
    socket.emit('joined', data.toString());
  });
  server.onEvent('leave', (socket, data) => {
    socket.leave(data.toString());
    socket.emit('left', data.toString());
  });
}

describe('rooms across protocols', () => {
  let started: StartedServer;
  let poller: LegacyPollClient | undefined;
  const sockets: Array<{ close(): void }> = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await started.close();
    await poller?.stop();
  });

  async function mixedRoom(seen: Array<{ protocol: string; data: string }>) {
    const sacIds: string[] = [];
    started = await startServer({ pollDurationMs: 2_000, heartbeatIntervalMs: 0 }, (server) => {
      roomHandlers(server, seen);
      server.onSocketConnect((socket) => void (socket.protocol === 'sac-sock' && sacIds.push(socket.id)));
    });
    const ws = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    poller = (await LegacyPollClient.connect(started.baseUrl)).start();
    const sacA = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    await waitFor(() => sacIds.length === 1);
    const sacB = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    sockets.push(ws, sacA, sacB);
    ws.send(encodeFrame(envelope('join', 'lobby')));
    expect(await poller.send(envelope('join', 'lobby'))).toBe(200);
    sacA.emit('join', 'lobby');
    sacB.emit('join', 'lobby');
    await ws.nextMessage(isEvent('joined'));
    await poller.nextMessage(isEvent('joined'));
    await sacA.next('joined');
    await sacB.next('joined');
    return { ws, poller, sacA, sacB, idA: sacIds[0] as string, idB: sacIds[1] as string };
  }

  it('delivers one roomcast to all four members, each in its own wire format', async () => {
    const seen: Array<{ protocol: string; data: string }> = [];
    const { ws, poller, sacA, sacB } = await mixedRoom(seen);
    expect(seen.map((entry) => entry.protocol).sort()).toEqual(['sac-sock', 'sac-sock', 'sio', 'sio']);
    expect(seen.every((entry) => entry.data === 'lobby')).toBe(true);
    expect(started.server.adapter.members('lobby').size).toBe(4);

    expect(started.server.to('lobby').emit('news', { n: 1 })).toEqual({ delivered: 4, refused: 0 });
    const expected = { type: 'json', data: { event: 'news', data: { n: 1 } } };
    expect(await ws.nextMessage(isEvent('news'))).toEqual(expected);
    expect(await poller.nextMessage(isEvent('news'))).toEqual(expected);
    for (const sac of [sacA, sacB]) {
      const frame = await sac.next('news');
      expect(frame).toMatchObject({ type: 'J', isBinary: false });
      expect(frame.payload.toString()).toBe('{"n":1}');
    }

    // A plain message: text for 0.6, the event "message" (type S) for sac-sock.
    expect(started.server.roomcast('lobby', 'bytes', Buffer.from([1, 2])).delivered).toBe(4);
    expect(started.server.to('lobby').send('plain')).toEqual({ delivered: 4, refused: 0 });
    const binary = { type: 'json', data: { event: 'bytes', data: 'AQI=', binary: true } };
    expect(await ws.nextMessage(isEvent('bytes'))).toEqual(binary);
    expect(await poller.nextMessage(isEvent('bytes'))).toEqual(binary);
    expect(await ws.nextMessage((m) => m.type === 'text')).toEqual({ type: 'text', data: 'plain' });
    expect(await poller.nextMessage((m) => m.type === 'text')).toEqual({ type: 'text', data: 'plain' });
    for (const sac of [sacA, sacB]) {
      const bytes = await sac.next('bytes');
      expect(bytes).toMatchObject({ type: 'B', isBinary: true });
      expect(bytes.payload).toEqual(Buffer.from([1, 2]));
      const plain = await sac.next('message');
      expect(plain.type).toBe('S');
      expect(plain.payload.toString()).toBe('plain');
    }
  });

  it('skips exactly the excluded member, and gives nothing to one that left', async () => {
    const { ws, poller, sacA, sacB, idA, idB } = await mixedRoom([]);

    expect(started.server.broadcastExcept(idA, 'all but A')).toEqual({ delivered: 3, refused: 0 });
    expect((await ws.nextMessage((m) => m.type === 'text')).data).toBe('all but A');
    expect((await poller.nextMessage((m) => m.type === 'text')).data).toBe('all but A');
    expect((await sacB.next('message')).payload.toString()).toBe('all but A');
    started.server.socketcast(idA, 'marker', 'A');
    expect((await sacA.next()).event).toBe('marker');

    expect(started.server.to('lobby').except(ws.sessionId).emit('x', 1)).toEqual({ delivered: 3, refused: 0 });
    await poller.nextMessage(isEvent('x'));
    await sacA.next('x');
    await sacB.next('x');

    sacB.emit('leave', 'lobby');
    await sacB.next('left');
    expect(started.server.inRoom(idB, 'lobby')).toBe(false);
    expect(started.server.roomcast('lobby', 'after-leave', 2)).toEqual({ delivered: 3, refused: 0 });
    await ws.nextMessage(isEvent('after-leave'));
    await poller.nextMessage(isEvent('after-leave'));
    await sacA.next('after-leave');
    started.server.socketcast(idB, 'marker', 'B');
    expect((await sacB.next()).event).toBe('marker');
    expect(ws.messages).toEqual([]);
  });

  it('keeps plain 0.6 messages working, and sends events to 0.6 as {event, data}', async () => {
    const plain: unknown[] = [];
    const events: Buffer[] = [];
    started = await startServer({ heartbeatIntervalMs: 0 }, (server) => {
      server.onMessage((_conn: Conn, data) => void plain.push(data));
      server.onEvent('echo', (socket, data) => {
        events.push(data);
        socket.emit('echo', JSON.parse(data.toString()));
      });
    });
    const ws = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    sockets.push(ws);
    ws.send(encodeFrame('just text'));
    ws.send(encodeFrame('~j~{"nick":"ada"}'));
    ws.send(encodeFrame(envelope('unhandled', 1)));
    ws.send(encodeFrame(envelope('echo', { a: [1, 'é'] })));
    expect(await ws.nextMessage(isEvent('echo'))).toEqual({
      type: 'json',
      data: { event: 'echo', data: { a: [1, 'é'] } },
    });
    await waitFor(() => plain.length === 3);
    expect(plain).toEqual(['just text', { nick: 'ada' }, { event: 'unhandled', data: 1 }]);
    expect(events.map((data) => data.toString())).toEqual(['{"a":[1,"é"]}']);
  });

  it('refuses and counts sends to full recipients without delaying or dropping the others', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    started = await startServer({
      heartbeatIntervalMs: 0,
      queueOverflow: 'refuse',
      maxQueueMessages: 20,
      drainTimeoutMs: 1_000,
      wsHighWaterMarkBytes: 16 * 1024,
    });
    const slowLegacy = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    const slowSac = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    const fast = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    sockets.push(slowLegacy, slowSac, fast);
    slowLegacy.ws.pause();
    slowSac.ws.pause();
    let refused = 0;
    let sent = 0;
    // Batches, waiting for the fast reader in between, until both slow ones are refused.
    for (let batch = 0; batch < 100 && refused < 200; batch++) {
      for (let i = 0; i < 10; i++) {
        const report = started.server.broadcast(`${sent}:${chunk}`);
        sent++;
        refused += report.refused;
        expect(report.delivered + report.refused).toBe(3);
      }
      await waitFor(() => fast.frames.length === sent, { what: 'the fast reader' });
    }
    expect(refused).toBeGreaterThanOrEqual(200);
    const numbers = fast.frames.map((frame) => Number(frame.data.toString('latin1', 10, 20).split(':', 1)[0]));
    expect(numbers).toEqual(Array.from({ length: sent }, (_, i) => i));
    // The slow ones are still open under the refuse policy, and count their refusals.
    expect(started.server.getConn(slowLegacy.sessionId)?.queueOverflows).toBeGreaterThan(0);
    expect(slowSac.closeCode).toBeUndefined();
    slowLegacy.ws.resume();
    slowSac.ws.resume();
  });

  it('encodes a broadcast once per wire format, not once per recipient', async () => {
    started = await startServer({ heartbeatIntervalMs: 0 });
    const clients = await Promise.all([
      LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`),
      LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`),
      SacSockTestClient.connect(`${started.wsUrl}/socket`),
      SacSockTestClient.connect(`${started.wsUrl}/socket`),
    ]);
    sockets.push(...clients);
    let stringifies = 0;
    const value = {
      toJSON() {
        stringifies++;
        return { big: 'payload' };
      },
    };
    expect(started.server.broadcastEvent('once', value)).toEqual({ delivered: 4, refused: 0 });
    // One JSON text shared by both formats (the 0.6 envelope and the sac-sock J frame).
    expect(stringifies).toBe(1);
    const [wsOne, wsTwo, sacOne, sacTwo] = clients as [
      LegacyWsClient,
      LegacyWsClient,
      SacSockTestClient,
      SacSockTestClient,
    ];
    await wsOne.nextMessage(isEvent('once'));
    await wsTwo.nextMessage(isEvent('once'));
    expect((await sacOne.next('once')).payload.toString()).toBe('{"big":"payload"}');
    await sacTwo.next('once');
  });
});
