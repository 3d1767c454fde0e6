/**
 * JSON nested deeper than `maxJsonDepth` is refused before anything walks it, on every
 * family: one 10 KB message of brackets used to end the process (a RangeError from the
 * JSON.stringify that measured an event's payload). The client gets the stable code, the
 * server keeps serving everyone else.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import type { RealtimeError } from '../../src/errors.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { installEchoes, WELL_BEHAVED_CLIENTS } from '../helpers/well-behaved.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** The message of the report: an event that has a handler, its data 5000 levels deep. */
const deepEvent = (depth: number) => `~j~{"event":"chat","data":${nested(depth)}}`;

let started: StartedServer | undefined;
afterEach(async () => {
  await started?.close();
  started = undefined;
});

async function start(options: Parameters<typeof startServer>[0] = {}) {
  const errors: RealtimeError[] = [];
  const chats: string[] = [];
  started = await startServer(options, (server) => {
    installEchoes(server);
    server.onEvent('chat', (_socket, data) => {
      chats.push(data.toString('utf8'));
    });
    server.websocket('/json', { pingIntervalMs: 0 }, async (conn) => {
      for await (const value of conn.messages) await conn.send(value);
    });
    server.on('error', (error) => errors.push(error as RealtimeError));
  });
  return { ...started, errors, chats };
}

async function stillServesEveryone(baseUrl: string): Promise<void> {
  for (const client of WELL_BEHAVED_CLIENTS) await client.check(baseUrl);
}

describe('deep JSON (maxJsonDepth, default 64)', () => {
  it('0.6 websocket: 5000 levels close the session with 1009, the process and the others go on', async () => {
    const { baseUrl, wsUrl, chats } = await start();
    const bystander = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    const attacker = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    attacker.send(encodeFrame(deepEvent(5000)));
    await waitFor(() => attacker.closeCode !== undefined, { what: 'the close' });
    expect(attacker.closeCode).toBe(1009);
    expect(chats).toEqual([]);
    bystander.send(encodeFrame('still here'));
    expect(await bystander.nextMessage((m) => m.type === 'text')).toEqual({ type: 'text', data: 'still here' });
    bystander.close();
    await stillServesEveryone(baseUrl);
  });

  it('xhr-polling: the same body is answered 400 ERR_JSON_TOO_DEEP and the session stays', async () => {
    const { baseUrl } = await start();
    const client = await LegacyPollClient.connect(baseUrl);
    const answer = await fetch(`${baseUrl}/socket.io/xhr-polling/${client.sessionId}/send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'data=' + encodeURIComponent(encodeFrame(deepEvent(5000))),
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ code: 'ERR_JSON_TOO_DEEP' });
    expect(await client.send('after')).toBe(200);
    await client.pollOnce();
    expect(client.messages).toContainEqual({ type: 'text', data: 'after' });
    await stillServesEveryone(baseUrl);
  });

  it('accepts a message at the bound and refuses one level more; the bound is an option', async () => {
    const { baseUrl, chats } = await start({ maxJsonDepth: 10 });
    const client = await LegacyPollClient.connect(baseUrl);
    // The envelope object is one level: data nested 9 deep makes 10.
    expect(await client.send(deepEvent(9))).toBe(200);
    expect(chats).toEqual([nested(9)]);
    expect(await client.send(deepEvent(10))).toBe(400);
    expect(chats).toHaveLength(1);
  });

  it('brackets inside strings do not count', async () => {
    const { baseUrl, chats } = await start();
    const client = await LegacyPollClient.connect(baseUrl);
    const data = JSON.stringify('['.repeat(5000));
    expect(await client.send(`~j~{"event":"chat","data":${data}}`)).toBe(200);
    expect(chats).toEqual(['['.repeat(5000)]);
  });

  it('plain endpoint json channel: closes with 1009 ERR_JSON_TOO_DEEP', async () => {
    const { baseUrl, wsUrl } = await start();
    const client = await PlainClient.connect(`${wsUrl}/json`);
    client.ws.send(`{"a":${nested(5000)}}`);
    expect(await client.waitForClose()).toBe(1009);
    expect(client.closeReason).toBe('ERR_JSON_TOO_DEEP');
    await stillServesEveryone(baseUrl);
  });

  it('sac-sock: a deep JSON payload is dropped and reported, the socket stays', async () => {
    const { baseUrl, wsUrl, errors, chats } = await start();
    const client = await SacSockTestClient.connect(`${wsUrl}/socket`);
    client.sendRaw(Buffer.from(`chat\x02${nested(5000)}`));
    await waitFor(() => errors.some((e) => e.code === 'ERR_JSON_TOO_DEEP'), { what: 'the reported error' });
    expect(chats).toEqual([]);
    client.emit('echo', 'after');
    expect((await client.next('echo')).payload.toString()).toBe('after');
    client.ws.terminate();
    await stillServesEveryone(baseUrl);
  });
});
