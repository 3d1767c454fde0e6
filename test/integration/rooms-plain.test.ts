/**
 * Plain websocket connections in the shared room model: they join rooms through the
 * server's adapter and receive roomcasts and broadcasts in their own mode's format, next to
 * a 0.6 websocket session in the same room.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { PlainClient, startEndpoint } from '../helpers/plain-ws.js';
import type { StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

describe('plain connections in rooms', () => {
  let started: (StartedServer & { url: string }) | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  it('a json-mode and a text-mode connection get a roomcast next to a 0.6 session; one that left gets nothing', async () => {
    const jsonStarted = await startEndpoint(
      { mode: 'json' },
      (conn) => {
        started!.server.join(conn, 'lobby');
      },
      (server) => {
        server.websocket('/text', { mode: 'text' }, (conn) => {
          server.join(conn, 'lobby');
        });
        server.onMessage((conn, data) => {
          if (data === 'join') server.join(conn, 'lobby');
        });
      },
    );
    started = jsonStarted;
    const json = await PlainClient.connect(jsonStarted.url);
    const text = await PlainClient.connect(`${jsonStarted.wsUrl}/text`);
    const legacy = await LegacyWsClient.connect(`${jsonStarted.wsUrl}/socket.io/websocket`);
    legacy.send(encodeFrame('join'));
    await waitFor(() => jsonStarted.server.adapter.members('lobby').size === 3, { what: 'three members in lobby' });

    expect(jsonStarted.server.to('lobby').send({ n: 1 })).toEqual({ delivered: 3, refused: 0 });
    await waitFor(() => json.received.length === 1 && text.received.length === 1, { what: 'plain deliveries' });
    expect(JSON.parse(json.received[0]!.data.toString())).toEqual({ n: 1 });
    expect(text.received[0]!.isBinary).toBe(false);
    expect(JSON.parse(text.received[0]!.data.toString())).toEqual({ n: 1 });
    expect(await legacy.nextMessage()).toEqual({ type: 'json', data: { n: 1 } });

    const jsonConn = jsonStarted.conns[0]!;
    expect(jsonStarted.server.leave(jsonConn, 'lobby')).toBe(true);
    expect(jsonStarted.server.broadcast('all')).toEqual({ delivered: 3, refused: 0 });
    expect(jsonStarted.server.to('lobby').send('room only')).toEqual({ delivered: 2, refused: 0 });
    await waitFor(() => text.received.length === 3, { what: 'text connection deliveries' });
    expect(text.received.map((m) => m.data.toString())).toEqual(['{"n":1}', 'all', 'room only']);
    await waitFor(() => json.received.length === 2, { what: 'the broadcast on the json connection' });
    expect(JSON.parse(json.received[1]!.data.toString())).toBe('all');
    json.ws.close();
    text.ws.close();
    // Plain connections leave every room when they close; the 0.6 session is still inside
    // its reconnect window, so it stays a member until that ends.
    await waitFor(() => jsonStarted.server.adapter.size === 1, { what: 'plain members removed on close' });
    expect([...jsonStarted.server.adapter.members('lobby')]).toEqual([legacy.sessionId]);
    legacy.close();
  });
});
