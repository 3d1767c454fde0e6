/**
 * Session ids are bearer credentials: no log line at info level may carry one in full,
 * fastify's own request logs included (the URL of every poll and send holds the id).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { redactLegacyUrl } from '../../src/http/router.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

describe('logging', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  it('redacts the session id segment of legacy URLs', () => {
    expect(redactLegacyUrl('socket.io', '/socket.io/xhr-polling/Ab3dE5gH7jK9mN1p/123')).toBe(
      '/socket.io/xhr-polling/Ab3d…/123',
    );
    expect(redactLegacyUrl('socket.io', '/socket.io/xhr-polling//123')).toBe('/socket.io/xhr-polling//123');
    expect(redactLegacyUrl('socket.io', '/elsewhere/Ab3dE5gH7jK9mN1p')).toBe('/elsewhere/Ab3dE5gH7jK9mN1p');
  });

  it('never writes a full session id into request logs (debug)', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    started = await startServer({ pollDurationMs: 300, logger: { level: 'debug', stream } }, (server) =>
      server.onMessage((conn, data) => conn.send(data)),
    );
    const client = await LegacyPollClient.connect(started.baseUrl);
    client.start();
    await client.send('hello');
    expect(await client.nextMessage()).toEqual({ type: 'text', data: 'hello' });
    await waitFor(() => lines.some((line) => line.includes('/send')), { what: 'the request log of the send' });
    expect(lines.some((line) => line.includes(`${client.sessionId.slice(0, 4)}…`))).toBe(true);
    expect(lines.filter((line) => line.includes(client.sessionId))).toEqual([]);
    await client.stop();
  });

  it('logs the lifecycle at info: sessions opened and closed, upgrades accepted and refused, no request lines', async () => {
    const text: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text.push(chunk.toString());
        done();
      },
    });
    const logged = (): Array<Record<string, unknown>> =>
      text
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    started = await startServer(
      { pollDurationMs: 300, heartbeatIntervalMs: 0, reconnectWindowMs: 5_000, logger: { level: 'info', stream } },
      (server) => server.onMessage((conn, data) => server.broadcast(data)),
    );
    const { baseUrl, wsUrl, server } = started;
    const poll = await LegacyPollClient.connect(baseUrl);
    poll.start();
    const ws = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    for (const said of ['hi', 'how are you', 'fine']) {
      await poll.send(said);
      await ws.nextMessage((m) => m.data === said);
      ws.send(`~m~${said.length}~m~${said}`);
      await poll.nextMessage((m) => m.data === said);
    }
    expect((await rawUpgrade(`${baseUrl}/nowhere/socket.io/websocket`)).status).toBe(404);
    expect(
      (await rawUpgrade(`${wsUrl.replace('ws', 'http')}/socket`, { Origin: 'http://elsewhere.example' })).status,
    ).toBe(403);
    await poll.stop();
    ws.close();
    for (const sessionId of [poll.sessionId, ws.sessionId]) server.getConn(sessionId)?.close();
    await waitFor(() => server.connectionCount === 0, { what: 'both sessions to close' });

    const lines = logged();
    const info = lines.filter((line) => line.level === 30).map((line) => line.msg);
    expect(info.filter((msg) => msg === 'session opened')).toHaveLength(2);
    expect(info.filter((msg) => msg === 'session closed')).toHaveLength(2);
    expect(info.filter((msg) => msg === 'websocket upgrade accepted')).toHaveLength(1);
    expect(lines.find((line) => line.msg === 'websocket upgrade refused')).toMatchObject({
      path: '/socket',
      status: 403,
      code: 'ERR_ORIGIN_REFUSED',
    });
    // Two short chats: a handful of lines, none per request.
    expect(info.filter((msg) => msg === 'incoming request' || msg === 'request completed')).toEqual([]);
    expect(info.length).toBeLessThanOrEqual(10);
    const opened = lines.find((line) => line.msg === 'session opened' && line.transport === 'xhr-polling');
    expect(opened).toMatchObject({ family: 'socketio06', sessionId: `${poll.sessionId.slice(0, 4)}…` });
    expect(opened?.remoteAddress).toBe('127.0.0.1');
    const closed = lines.find((line) => line.msg === 'session closed' && line.transport === 'websocket');
    expect(closed).toMatchObject({ messagesReceived: 3, messagesSent: 6, lostMessages: 0 });
    expect(closed?.durationMs).toEqual(expect.any(Number));
    expect(JSON.stringify(lines)).not.toContain(poll.sessionId);
  });
});
