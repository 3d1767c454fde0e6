/**
 * A dropped 0.6 session keeps its whole reconnect window however busy it is: while it is
 * detached only `maxQueueBytes` bounds its queue (the frame count alone used to close a
 * session receiving 1000 messages/s about one second after the drop), and `drop-oldest`
 * keeps the newest frames, counting the dropped ones in `lostMessages`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DisconnectInfo } from '../../src/hub/results.js';
import type { Conn } from '../../src/session/conn.js';
import { SendQueue } from '../../src/session/send-queue.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

let started: StartedServer | undefined;
afterEach(async () => {
  await started?.close();
  started = undefined;
});

async function start(options: Parameters<typeof startServer>[0]) {
  const closes: DisconnectInfo[] = [];
  started = await startServer({ reconnectWindowMs: 10_000, ...options }, (server) => {
    server.on('disconnect', (_conn, info) => closes.push(info));
  });
  return { ...started, closes };
}

const texts = (client: { messages: Array<{ type: string; data: unknown }> }) =>
  client.messages.filter((m) => m.type === 'text').map((m) => m.data);

describe('the reconnect window of a busy session', () => {
  it('xhr-polling: 3000 frames queued between two polls (3× maxQueueMessages) all arrive, in order', async () => {
    const { server, baseUrl, closes } = await start({ maxQueueMessages: 1000 });
    const client = await LegacyPollClient.connect(baseUrl);
    const conn = server.getConn(client.sessionId) as Conn;
    expect(conn.state).toBe('detached');
    for (let i = 0; i < 3000; i++) expect(conn.send(`m${i}`).ok).toBe(true);
    expect(conn.state).toBe('detached');
    expect(await client.pollOnce()).toBe(200);
    expect(texts(client)).toEqual(Array.from({ length: 3000 }, (_, i) => `m${i}`));
    expect(closes).toEqual([]);
  });

  it('websocket: a dropped socket keeps its session past maxQueueMessages and gets everything on its return', async () => {
    const { server, wsUrl, closes } = await start({ maxQueueMessages: 100 });
    const first = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    const conn = server.getConn(first.sessionId) as Conn;
    first.ws.terminate();
    await waitFor(() => conn.state === 'detached', { what: 'the drop' });
    for (let i = 0; i < 1000; i++) expect(conn.send(`m${i}`).ok).toBe(true);
    const back = await LegacyWsClient.reattach(`${wsUrl}/socket.io/websocket/${first.sessionId}`, first.sessionId);
    await waitFor(() => texts(back).length === 1000, { what: 'the queued frames' });
    expect(texts(back)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    expect(closes).toEqual([]);
    back.close();
  });

  it('the byte budget still ends a session whose queue really piles up (close policy)', async () => {
    const { server, baseUrl, closes } = await start({ maxQueueBytes: 10_000 });
    const client = await LegacyPollClient.connect(baseUrl);
    const conn = server.getConn(client.sessionId) as Conn;
    const big = 'x'.repeat(200);
    let accepted = 0;
    while (conn.send(big).ok && accepted < 1000) accepted++;
    expect(accepted).toBeLessThan(50);
    expect(closes).toMatchObject([{ reason: 'queue-overflow', lostMessages: accepted }]);
  });

  it('drop-oldest keeps the newest frames and counts the dropped ones as lost', async () => {
    const { server, baseUrl, closes } = await start({ maxQueueBytes: 2_000, queueOverflow: 'drop-oldest' });
    const client = await LegacyPollClient.connect(baseUrl);
    const conn = server.getConn(client.sessionId) as Conn;
    const frame = (i: number) => `${String(i).padStart(3, '0')}${'y'.repeat(90)}`;
    for (let i = 0; i < 100; i++) expect(conn.send(frame(i)).ok).toBe(true);
    expect(await client.pollOnce()).toBe(200);
    const got = texts(client) as string[];
    expect(got.length).toBeGreaterThan(10);
    expect(got.length).toBeLessThan(100);
    // The newest, in order, none missing at the end.
    expect(got).toEqual(Array.from({ length: got.length }, (_, k) => frame(100 - got.length + k)));
    conn.close();
    expect(closes).toMatchObject([{ reason: 'server', lostMessages: 100 - got.length }]);
  });
});

describe('SendQueue.dropOldest', () => {
  it('drops just enough of the oldest frames for the next one, by bytes and (attached) by count', () => {
    const queue = new SendQueue({ maxQueueMessages: 3, maxQueueBytes: 10 });
    ['aaa', 'bbb', 'ccc'].forEach((frame, i) => expect(queue.push(frame, 3, i + 1)).toBe(true));
    expect(queue.push('dd', 2, 4)).toBe(false);
    expect(queue.dropOldest(2)).toEqual([1]);
    expect(queue.push('dd', 2, 4)).toBe(true);
    expect(queue.drain()).toEqual({ frames: ['bbb', 'ccc', 'dd'], seqs: [2, 3, 4], bytes: 8 });
  });

  it('drops nothing for a frame larger than the whole budget, and ignores the count while detached', () => {
    const queue = new SendQueue({ maxQueueMessages: 1, maxQueueBytes: 10 });
    expect(queue.push('aaaa', 4, 1, false)).toBe(true);
    expect(queue.push('bbbb', 4, 2, false)).toBe(true);
    expect(queue.dropOldest(11, false)).toEqual([]);
    expect(queue.dropOldest(4, false)).toEqual([1]);
    expect(queue.length).toBe(1);
  });
});
