import { afterEach, describe, expect, it } from 'vitest';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

// Broadcasts over the websocket transport write one prepared frame to every socket, and a
// tick's frames leave in one write: both must stay invisible to the client.
describe('websocket fan-out: prepared frames and batched writes', () => {
  let started: StartedServer;
  let clients: LegacyWsClient[] = [];
  afterEach(async () => {
    for (const client of clients) client.close();
    clients = [];
    await started.close();
  });

  async function connectClients(count: number): Promise<LegacyWsClient[]> {
    clients = await Promise.all(
      Array.from({ length: count }, () => LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`)),
    );
    return clients;
  }

  // Each length crosses one of RFC 6455's three length encodings (7-bit, 16-bit, 64-bit).
  it.each([
    ['empty', ''],
    ['125 bytes', 'a'.repeat(125)],
    ['126 bytes', 'b'.repeat(126)],
    ['65 535 bytes', 'c'.repeat(65_535)],
    ['65 536 bytes', 'd'.repeat(65_536)],
    ['non-ASCII', 'héllo 日本 😀'.repeat(20)],
  ])('delivers a broadcast of %s intact to every client', async (_name, text) => {
    started = await startServer();
    const receivers = await connectClients(3);
    await waitFor(() => started.server.connectionCount === 3, { what: 'three sessions' });
    expect(started.server.broadcast(text)).toEqual({ delivered: 3, refused: 0 });
    for (const client of receivers) expect(await client.nextMessage()).toEqual({ type: 'text', data: text });
  });

  it('keeps the order of many messages sent in one tick, mixed with direct sends', async () => {
    started = await startServer();
    const [first, second] = await connectClients(2);
    await waitFor(() => started.server.connectionCount === 2, { what: 'two sessions' });
    const conn = started.server.getConn(first!.sessionId)!;
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      started.server.broadcast(`all ${i}`);
      expected.push(`all ${i}`);
      if (i % 50 === 0) {
        conn.send({ direct: i });
        expected.push(JSON.stringify({ direct: i }));
      }
    }
    await waitFor(() => first!.messages.length === expected.length, { what: 'every message on the first client' });
    const seen = first!.messages.map((m) => (m.type === 'json' ? JSON.stringify(m.data) : String(m.data)));
    expect(seen).toEqual(expected);
    await waitFor(() => second!.messages.length === 200, { what: 'every broadcast on the second client' });
    expect(second!.messages.map((m) => m.data)).toEqual(expected.filter((text) => text.startsWith('all')));
  });

  it('sends single values directly: text, JSON, and a refusal for a value without JSON', async () => {
    started = await startServer();
    const [client] = await connectClients(1);
    await waitFor(() => started.server.connectionCount === 1, { what: 'one session' });
    const conn = started.server.getConn(client!.sessionId)!;
    expect(conn.send('plain')).toEqual({ ok: true });
    expect(conn.send({ a: [1, 'é'] })).toEqual({ ok: true });
    const refused = conn.send(10n);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.code).toBe('ERR_INVALID_MESSAGE');
    expect(await client!.nextMessage()).toEqual({ type: 'text', data: 'plain' });
    expect(await client!.nextMessage()).toEqual({ type: 'json', data: { a: [1, 'é'] } });
  });
});
