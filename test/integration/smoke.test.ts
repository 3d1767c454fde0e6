import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';

describe('smoke: echo over websocket and xhr-polling', () => {
  let started: StartedServer;
  afterEach(() => started.close());

  it('echoes text over websocket', async () => {
    started = await startServer({}, (server) => server.onMessage((conn, data) => conn.send(data)));
    const client = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    expect(client.sessionId).toMatch(/^[0-9A-Za-z]{16}$/);
    client.send(encodeFrame('héllo 😀'));
    expect(await client.nextMessage()).toEqual({ type: 'text', data: 'héllo 😀' });
    client.close();
  });

  it('echoes JSON over xhr-polling', async () => {
    started = await startServer({}, (server) => server.onMessage((conn, data) => conn.send(data)));
    const first = await fetch(`${started.baseUrl}/socket.io/xhr-polling//${Date.now()}`);
    const handshake = await first.text();
    const sessionId = handshake.replace(/^~m~16~m~/, '');
    expect(sessionId).toMatch(/^[0-9A-Za-z]{16}$/);
    const poll = fetch(`${started.baseUrl}/socket.io/xhr-polling/${sessionId}/${Date.now()}`);
    const sent = await fetch(`${started.baseUrl}/socket.io/xhr-polling/${sessionId}/send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: 'data=' + encodeURIComponent(encodeFrame('~j~{"a":1}')),
    });
    expect(sent.status).toBe(200);
    expect(await sent.text()).toBe('ok');
    expect(await (await poll).text()).toBe('~m~10~m~~j~{"a":1}');
  });
});
