/**
 * The instrumentation seam: every family reports opens, closes, messages in and out,
 * overflows, losses and fan-out to the server's `instruments` (what metrics and the
 * dashboard build on). Counted here with real clients of the 0.6 resource and sac-sock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CountingInstruments } from '../helpers/counting-instruments.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

describe('instrumentation seam', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  it('counts opens, messages both ways, fan-out and closes per family and transport', async () => {
    const instruments = new CountingInstruments();
    started = await startServer({ instruments, heartbeatIntervalMs: 0 });
    const { server, baseUrl, wsUrl } = started;
    server.onMessage((conn, data) => void conn.send(data));
    const ws = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    const poll = await LegacyPollClient.connect(baseUrl);
    const sac = await SacSockTestClient.connect(`${wsUrl}/socket`);
    await waitFor(() => server.connectionCount === 2 && server.sacSock?.size === 1);
    expect(instruments.count('opened/socketio06/websocket')).toBe(1);
    expect(instruments.count('opened/socketio06/xhr-polling')).toBe(1);
    expect(instruments.count('opened/sacsock/websocket')).toBe(1);

    ws.send('~m~5~m~hello');
    await ws.nextMessage((m) => m.data === 'hello');
    expect(instruments.count('received/socketio06')).toBe(1);
    expect(instruments.count('sent/socketio06')).toBe(1);
    const conn = server.getConn(ws.sessionId)!;
    expect([conn.messagesReceived, conn.messagesSent]).toEqual([1, 1]);
    expect(conn.openedAt).toBeLessThanOrEqual(Date.now());
    sac.emit('ping', 'x');
    await waitFor(() => instruments.count('received/sacsock') === 1);

    expect(server.broadcast('all')).toEqual({ delivered: 3, refused: 0 });
    expect(instruments.fanOuts.at(-1)?.deliveries).toBe(3);
    expect(instruments.count('sent/socketio06')).toBe(3);
    expect(instruments.count('sent/sacsock')).toBe(1);

    ws.close();
    // The websocket session is detached, not closed: its reconnect window is still open.
    await waitFor(() => server.getConn(ws.sessionId)?.state === 'detached');
    server.getConn(poll.sessionId)?.close();
    sac.close();
    await waitFor(() => server.sacSock?.size === 0);
    expect(
      instruments.count('closed/socketio06/websocket/window-expired') +
        instruments.count('closed/socketio06/websocket/server'),
    ).toBe(0);
    expect(instruments.count('closed/socketio06/xhr-polling/server')).toBe(1);
    expect(instruments.count('closed/sacsock/websocket/client')).toBe(1);
    await poll.stop();
  });

  it('counts an overflow and what the drop-oldest policy dropped as lost', async () => {
    const instruments = new CountingInstruments();
    started = await startServer({
      instruments,
      heartbeatIntervalMs: 0,
      // Detached between polls, a session is bounded by bytes alone: room for two of these frames.
      maxQueueBytes: 40,
      queueOverflow: 'drop-oldest',
    });
    const poll = await LegacyPollClient.connect(started.baseUrl);
    const conn = started.server.getConn(poll.sessionId)!;
    for (const text of ['a', 'b', 'c']) expect(conn.send(text.repeat(10)).ok).toBe(true);
    expect(instruments.count('overflowed/socketio06')).toBe(1);
    expect(instruments.count('lost/socketio06/dropped')).toBe(1);
    conn.close();
    expect(instruments.count('lost/socketio06/closed')).toBe(2);
    await poll.stop();
  });
});
