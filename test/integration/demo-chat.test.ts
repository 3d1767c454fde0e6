import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { buildDemoApp } from '../../src/demo/app.js';
import { CHAT_LIMITS } from '../../src/demo/chat.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { waitFor } from '../helpers/wait-for.js';

// The demo's HTTP edge and its chat server, without a browser (the page is tested in
// test/browser/chat-demo.test.ts).

let app: FastifyInstance;
let baseUrl: string;
const clients: LegacyWsClient[] = [];

beforeAll(async () => {
  app = await buildDemoApp({ server: { heartbeatIntervalMs: 0, reconnectWindowMs: 200 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = app.switchyard.url;
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => {
  await app?.close();
});

type ChatMessage = Record<string, unknown> & { type: string };

async function connect(): Promise<LegacyWsClient> {
  const client = await LegacyWsClient.connect(`${baseUrl.replace('http', 'ws')}/socket.io/websocket`);
  clients.push(client);
  return client;
}

function send(client: LegacyWsClient, value: object): void {
  client.send(encode([value]));
}

async function next(client: LegacyWsClient, type: string): Promise<ChatMessage> {
  const message = await client.nextMessage(
    (m: InboundMessage) => m.type === 'json' && (m.data as ChatMessage).type === type,
  );
  return message.data as ChatMessage;
}

async function join(nick: string, room: string, key = ''): Promise<{ client: LegacyWsClient; welcome: ChatMessage }> {
  const client = await connect();
  send(client, { join: { nick, room, key } });
  return { client, welcome: await next(client, 'welcome') };
}

describe('demo app over HTTP', () => {
  it.each(['/nope', '/missing.css', '/deep/er/path?x=1'])('answers %s with 404 and {code, message}', async (path) => {
    const response = await fetch(`${baseUrl}${path}`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ code: 'ERR_NOT_FOUND', message: expect.any(String) });
  });

  it('still serves the page, its assets and the 0.6 client', async () => {
    for (const path of ['/', '/chat.js', '/chat.css', '/socket.io/socket.io.js']) {
      expect((await fetch(`${baseUrl}${path}`)).status, path).toBe(200);
    }
  });
});

describe('demo chat server', () => {
  it('keeps the last messages of a room, in order, and replays them to whoever joins', async () => {
    const { client: alice } = await join('alice', 'history');
    const total = CHAT_LIMITS.historyLength + 5;
    for (let i = 1; i <= total; i++) send(alice, { say: `line ${i}` });
    for (let i = 1; i <= total; i++) await next(alice, 'message');

    const { welcome } = await join('bob', 'history');
    const history = welcome.history as Array<{ nick: string; text: string; at: number }>;
    expect(history.map((line) => line.text)).toEqual(
      Array.from({ length: CHAT_LIMITS.historyLength }, (_, i) => `line ${i + 6}`),
    );
    expect(history.every((line) => line.nick === 'alice' && typeof line.at === 'number')).toBe(true);
    expect(welcome.users).toEqual([
      { nick: 'alice', transport: 'websocket' },
      { nick: 'bob', transport: 'websocket' },
    ]);
  });

  it('bounds nicknames, room names and messages, and refuses an empty nickname', async () => {
    const long = 'n'.repeat(CHAT_LIMITS.nickLength + 10);
    const { client, welcome } = await join(`  ${long}\u0007 `, '  Big Room!! ');
    expect(welcome.nick).toBe('n'.repeat(CHAT_LIMITS.nickLength));
    expect(welcome.room).toBe('big-room');

    send(client, { say: '😀'.repeat(CHAT_LIMITS.textLength + 1) });
    expect((await next(client, 'message')).text).toBe('😀'.repeat(CHAT_LIMITS.textLength));

    const nobody = await connect();
    send(nobody, { say: 'not in a room yet' });
    send(nobody, { join: { nick: ' \t ', room: 'big-room' } });
    expect((await next(nobody, 'refused')).reason).toMatch(/nickname/);
    send(nobody, { join: { nick: 'x', room: '' } });
    expect((await next(nobody, 'welcome')).room).toBe('lobby');
  });

  it('gives a taken nickname a number, and tells joins and leaves to that room only', async () => {
    const { client: first } = await join('sam', 'names');
    const { client: elsewhere } = await join('sam', 'other-room');
    const { client: second, welcome } = await join('Sam', 'names');
    expect(welcome.nick).toBe('Sam2');
    expect(await next(first, 'joined')).toMatchObject({ nick: 'Sam2', at: expect.any(Number) });

    second.close();
    const left = await next(first, 'left');
    expect(left).toMatchObject({ nick: 'Sam2', users: [{ nick: 'sam', transport: 'websocket' }] });
    // The other room heard nothing after its own welcome (which join() took out).
    expect(elsewhere.messages.filter((m) => m.type === 'json')).toEqual([]);
  });

  it('lets the same page, back on a new session, take its old place without notices', async () => {
    const { client: watcher } = await join('watcher', 'takeover');
    const { client: old } = await join('kim', 'takeover', 'page-key');
    await next(watcher, 'joined');

    const { client: back, welcome } = await join('kim', 'takeover', 'page-key');
    expect(welcome.nick).toBe('kim');
    expect((await next(watcher, 'users')).users).toEqual([
      { nick: 'kim', transport: 'websocket' },
      { nick: 'watcher', transport: 'websocket' },
    ]);
    // The old session's end is no news: the next thing the watcher hears is a message.
    old.close();
    await waitFor(() => app.switchyard.getConn(old.sessionId) === undefined, { what: 'the old session to end' });
    send(back, { say: 'back' });
    const after = await watcher.nextMessage((m) => m.type === 'json');
    expect(after.data).toMatchObject({ type: 'message', nick: 'kim', text: 'back' });
  });
});
