/**
 * The sac-sock endpoint against a raw `ws` client that speaks docs/protocol/sac-sock.md §2 byte
 * for byte (§ numbers in this file are that reference's): emits of every type both ways, the §2.5
 * frames exactly, malformed and over-limit frames, subprotocol negotiation, the origin rule, ids
 * and rooms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from '../../src/hub/rooms.js';
import type { Switchyard } from '../../src/server.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { SacSockTestClient, splitServerFrame } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Echo handlers: `text` answers a string, `bin` bytes, `json` the parsed JSON. */
function echoHandlers(server: Switchyard): void {
  server.onEvent('text', (socket, data) => void socket.emit('text', data.toString('utf8')));
  server.onEvent('bin', (socket, data) => void socket.emit('bin', data));
  server.onEvent('json', (socket, data) => void socket.emit('json', JSON.parse(data.toString('utf8'))));
}

describe('sac-sock endpoint', () => {
  let started: StartedServer;
  const clients: SacSockTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.ws.terminate();
    await started.close();
  });

  async function connect(path = '/socket', protocols: string | string[] = 'sac-sock'): Promise<SacSockTestClient> {
    const client = await SacSockTestClient.connect(`${started.wsUrl}${path}`, protocols);
    clients.push(client);
    return client;
  }

  describe('emits both ways', () => {
    it('echoes a string, bytes and JSON, each with its type letter and opcode', async () => {
      started = await startServer({}, echoHandlers);
      const client = await connect();
      client.emit('text', 'héllo\x01\x02 😀');
      client.emit('bin', new Uint8Array([0, 1, 2, 0xff]).buffer);
      client.emit('json', { room: 'a', n: [1, 2] });
      const text = await client.next('text');
      expect(text).toMatchObject({ type: 'S', isBinary: false });
      expect(text.payload.toString()).toBe('héllo\x01\x02 😀');
      const bin = await client.next('bin');
      expect(bin).toMatchObject({ type: 'B', isBinary: true });
      expect(bin.payload).toEqual(Buffer.from([0, 1, 2, 0xff]));
      const json = await client.next('json');
      expect(json).toMatchObject({ type: 'J', isBinary: false });
      expect(JSON.parse(json.payload.toString())).toEqual({ room: 'a', n: [1, 2] });
    });

    it('hands handlers the raw payload bytes of the §2.5 client frames', async () => {
      const seen: Array<{ event: string; data: Buffer }> = [];
      started = await startServer({}, (server) => {
        for (const event of ['echo', 'join', 'ev', 'é']) {
          server.onEvent(event, (_socket, data) => void seen.push({ event, data }));
        }
      });
      const client = await connect();
      client.sendRaw(hex('65 63 68 6f 02 68 65 6c 6c 6f'));
      client.sendRaw(hex('6a 6f 69 6e 02 7b 22 72 6f 6f 6d 22 3a 22 61 22 7d'));
      client.sendRaw(hex('65 76 02 07 08'), true);
      client.sendRaw(hex('65 76 02 75 6e 64 65 66 69 6e 65 64'));
      client.sendRaw(hex('e9 02 01 02'), true);
      await waitFor(() => seen.length === 5);
      expect(seen).toEqual([
        { event: 'echo', data: Buffer.from('hello') },
        { event: 'join', data: Buffer.from('{"room":"a"}') },
        { event: 'ev', data: Buffer.from([7, 8]) },
        { event: 'ev', data: Buffer.from('undefined') },
        { event: 'é', data: Buffer.from([1, 2]) },
      ]);
    });

    it('sends the §2.5 server frames byte for byte', async () => {
      started = await startServer({}, (server) =>
        server.onSocketConnect((socket) => {
          socket.emit('echo', 'hello');
          socket.emit('obj', { a: 1 });
          socket.emit('n', 5);
          socket.emit('x', null);
          socket.emit('bin', Buffer.from([0xde, 0xad]));
        }),
      );
      const client = await connect();
      await waitFor(() => client.frames.length === 5);
      expect(client.frames.map((frame) => [frame.data.toString('hex'), frame.isBinary])).toEqual([
        ['6563686f0153026865' + '6c6c6f', false],
        ['6f626a014a027b2261223a317d', false],
        ['6e014a0235', false],
        ['78014a026e756c6c', false],
        ['62696e014202dead', true],
      ]);
    });

    it('sends a plain message as the event "message"', async () => {
      started = await startServer({}, (server) => server.onSocketConnect((socket) => void socket.send({ hi: 1 })));
      const client = await connect();
      const frame = await client.next();
      expect(frame).toMatchObject({ event: 'message', type: 'J' });
      expect(frame.payload.toString()).toBe('{"hi":1}');
    });

    it('sends nothing on connect that the app did not ask for', async () => {
      started = await startServer({}, echoHandlers);
      const client = await connect();
      client.emit('text', 'first');
      const frame = await client.next();
      // The first frame the client sees is the answer it asked for.
      expect(frame.event).toBe('text');
      expect(frame.payload.toString()).toBe('first');
    });
  });

  describe('fan-out', () => {
    it('shares one framed copy of a broadcast: text, bytes and JSON of every length class arrive whole, in order', async () => {
      started = await startServer({});
      const sockets = [await connect(), await connect(), await connect()];
      await waitFor(() => started.server.adapter.size === 3);
      const sizes = [0, 100, 126, 65_535, 70_000];
      const sent: Array<{ event: string; value: unknown }> = [];
      for (const size of sizes) {
        sent.push({ event: 'text', value: 'é'.repeat(size) });
        sent.push({ event: 'bytes', value: Buffer.alloc(size, size % 251) });
        sent.push({ event: 'json', value: { size } });
      }
      for (const { event, value } of sent) {
        expect(started.server.broadcastEvent(event, value)).toEqual({ delivered: 3, refused: 0 });
      }
      for (const client of sockets) {
        await waitFor(() => client.frames.length === sent.length, { what: `${sent.length} frames` });
        const frames = client.frames.map(splitServerFrame);
        expect(frames.map((frame) => frame.event)).toEqual(sent.map(({ event }) => event));
        sent.forEach(({ event, value }, i) => {
          const frame = frames[i];
          if (event === 'text') expect(frame?.payload.toString('utf8')).toBe(value);
          if (event === 'bytes') expect(frame?.payload.equals(value as Buffer)).toBe(true);
          if (event === 'json') expect(JSON.parse(frame?.payload.toString('utf8') ?? '')).toEqual(value);
        });
      }
    });

    it('keeps a single emit and a fan-out in the order they were sent', async () => {
      const sockets: Socket[] = [];
      started = await startServer({}, (server) => server.onSocketConnect((socket) => void sockets.push(socket)));
      const client = await connect();
      await waitFor(() => sockets.length === 1);
      for (let i = 0; i < 20; i++) {
        if (i % 2 === 0) started.server.broadcastEvent('n', String(i));
        else sockets[0]?.emit('n', String(i));
      }
      await waitFor(() => client.frames.length === 20, { what: '20 frames' });
      expect(client.frames.map((frame) => splitServerFrame(frame).payload.toString())).toEqual(
        Array.from({ length: 20 }, (_, i) => String(i)),
      );
    });
  });

  describe('bad input', () => {
    it('drops empty and separator-less frames and unknown events, and stays open', async () => {
      started = await startServer({}, echoHandlers);
      const client = await connect();
      client.sendRaw(Buffer.alloc(0));
      client.sendRaw('no separator');
      client.sendRaw('\x02empty name');
      client.sendRaw(hex('02'), true);
      client.emit('unknown-event', 'ignored');
      client.emit('text', 'still here');
      const frame = await client.next();
      expect(frame.payload.toString()).toBe('still here');
      expect(client.frames).toEqual([]);
      expect(started.server.sacSock?.droppedFrames).toBe(4);
      expect(client.closeCode).toBeUndefined();
    });

    it('closes with 1009 on a frame over sacSockMaxMessageBytes, and accepts one at the limit', async () => {
      started = await startServer({ sacSockMaxMessageBytes: 64 }, echoHandlers);
      const client = await connect();
      client.emit('text', 'x'.repeat(64 - 5));
      expect((await client.next('text')).payload.length).toBe(59);
      client.emit('text', 'x'.repeat(64 - 4));
      expect(await client.closed()).toBe(1009);
    });

    it('reports a handler that throws as an error, and keeps serving', async () => {
      const errors: Error[] = [];
      started = await startServer({}, (server) => {
        echoHandlers(server);
        server.on('error', (error) => void errors.push(error));
        server.onEvent('boom', () => {
          throw new Error('handler failed');
        });
      });
      const client = await connect();
      client.emit('boom', '');
      client.emit('text', 'after');
      expect((await client.next('text')).payload.toString()).toBe('after');
      expect(errors.map((error) => error.message)).toEqual(['handler failed']);
    });
  });

  describe('handshake', () => {
    it('answers the sac-sock subprotocol when offered', async () => {
      started = await startServer({});
      const client = await connect('/socket', ['other', 'sac-sock']);
      expect(client.ws.protocol).toBe('sac-sock');
    });

    it('accepts a client that offers no subprotocol, naming none (as gorilla does)', async () => {
      started = await startServer({}, echoHandlers);
      const client = await connect('/socket', []);
      expect(client.ws.protocol).toBe('');
      client.emit('text', 'ok');
      expect((await client.next('text')).payload.toString()).toBe('ok');
    });

    it('names no protocol to a client offering only others', async () => {
      started = await startServer({});
      const answer = await rawUpgrade(`${started.baseUrl}/socket`, { 'Sec-WebSocket-Protocol': 'chat' });
      expect(answer.status).toBe(101);
      expect(answer.headers['sec-websocket-protocol']).toBeUndefined();
    });

    it('refuses a cross-origin handshake with 403, and accepts same-origin and no Origin', async () => {
      started = await startServer({});
      const host = new URL(started.baseUrl).host;
      const refused = await rawUpgrade(`${started.baseUrl}/socket`, { Origin: 'http://evil.example' });
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'ERR_ORIGIN_REFUSED' });
      expect((await rawUpgrade(`${started.baseUrl}/socket`, { Origin: 'null' })).status).toBe(403);
      const same = await rawUpgrade(`${started.baseUrl}/socket`, { Origin: `http://${host.toUpperCase()}` });
      expect(same.status).toBe(101);
      expect((await rawUpgrade(`${started.baseUrl}/socket`)).status).toBe(101);
    });

    it('uses the sacSockOrigins allow-list when given', async () => {
      started = await startServer({ sacSockOrigins: ['app.example:*'] });
      expect((await rawUpgrade(`${started.baseUrl}/socket`, { Origin: 'https://app.example' })).status).toBe(101);
      expect((await rawUpgrade(`${started.baseUrl}/socket`, { Origin: 'https://evil.example' })).status).toBe(403);
    });

    it('refuses a non-GET upgrade and a bad version', async () => {
      started = await startServer({});
      expect((await rawUpgrade(`${started.baseUrl}/socket`, {}, 'POST')).status).toBe(405);
      expect((await rawUpgrade(`${started.baseUrl}/socket`, { 'Sec-WebSocket-Version': '7' })).status).toBe(400);
    });

    it('mounts at sacSockPath, or nowhere with false', async () => {
      started = await startServer({ sacSockPath: '/ss' }, echoHandlers);
      const client = await connect('/ss');
      client.emit('text', 'moved');
      expect((await client.next('text')).payload.toString()).toBe('moved');
      expect((await rawUpgrade(`${started.baseUrl}/socket`)).status).toBe(404);
      await started.close();
      started = await startServer({ sacSockPath: false });
      expect(started.server.sacSock).toBeUndefined();
      expect((await rawUpgrade(`${started.baseUrl}/socket`)).status).toBe(404);
    });

    it('runs the authorize hook', async () => {
      started = await startServer({ authorize: (req) => req.headers['x-token'] === 'yes' });
      expect((await rawUpgrade(`${started.baseUrl}/socket`)).status).toBe(401);
      expect((await rawUpgrade(`${started.baseUrl}/socket`, { 'X-Token': 'yes' })).status).toBe(101);
    });

    it('answers 401 when the authorize hook throws or rejects, and reports the failure', async () => {
      const errors: unknown[] = [];
      started = await startServer(
        {
          authorize: (req) => {
            if (req.headers['x-token'] === 'throw') throw new Error('hook broke');
            return Promise.reject(new Error('hook rejected'));
          },
        },
        (server) => server.on('error', (error) => void errors.push(error)),
      );
      const thrown = await rawUpgrade(`${started.baseUrl}/socket`, { 'X-Token': 'throw' });
      expect(thrown.status).toBe(401);
      expect(JSON.parse(thrown.body)).toMatchObject({ code: 'ERR_UNAUTHORIZED' });
      expect((await rawUpgrade(`${started.baseUrl}/socket`)).status).toBe(401);
      expect(errors.map((error) => (error as Error).message)).toEqual(['hook broke', 'hook rejected']);
      expect(started.server.budget.total).toBe(0);
      expect(started.server.sacSock?.size).toBe(0);
    });
  });

  describe('ids and rooms', () => {
    it('gives each socket an unguessable id and its private room, and socketcasts by id', async () => {
      const sockets: Socket[] = [];
      started = await startServer({}, (server) => server.onSocketConnect((socket) => void sockets.push(socket)));
      const one = await connect();
      const two = await connect();
      await waitFor(() => sockets.length === 2);
      const [first, second] = sockets as [Socket, Socket];
      expect(first.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(first.id).not.toBe(second.id);
      expect(first.rooms()).toEqual([`__socket_id:${first.id}`]);
      expect(started.server.socketcast(second.id, 'dm', 'for two')).toEqual({ delivered: 1, refused: 0 });
      expect((await two.next('dm')).payload.toString()).toBe('for two');
      one.emit('nothing', '');
      expect(one.frames).toEqual([]);
    });

    it('joins and leaves rooms from handlers; private rooms are refused', async () => {
      const errors: Error[] = [];
      started = await startServer({}, (server) => {
        server.on('error', (error) => void errors.push(error));
        server.onEvent('join', (socket, data) => {
          socket.join(data.toString());
          socket.emit('rooms', socket.rooms().sort());
        });
        server.onEvent('leave', (socket, data) => {
          socket.leave(data.toString());
          socket.emit('in', socket.inRoom(data.toString()));
        });
      });
      const client = await connect();
      client.emit('join', 'lobby');
      const rooms = JSON.parse((await client.next('rooms')).payload.toString()) as string[];
      expect(rooms).toHaveLength(2);
      expect(rooms).toContain('lobby');
      expect(started.server.to('lobby').emit('news', 1)).toEqual({ delivered: 1, refused: 0 });
      expect((await client.next('news')).payload.toString()).toBe('1');
      client.emit('leave', 'lobby');
      expect((await client.next('in')).payload.toString()).toBe('false');
      expect(started.server.to('lobby').emit('news', 2)).toEqual({ delivered: 0, refused: 0 });
      client.emit('join', '__socket_id:someone-else');
      await waitFor(() => errors.length === 1);
      expect(errors[0]?.message).toMatch(/private/);
    });

    it('leaves every room before the disconnect listeners run', async () => {
      const seen: Array<{ rooms: string[]; members: number }> = [];
      started = await startServer({}, (server) => {
        server.onSocketConnect((socket) => void socket.join('lobby'));
        server.onSocketDisconnect(
          (socket) => void seen.push({ rooms: socket.rooms(), members: server.adapter.members('lobby').size }),
        );
      });
      const client = await connect();
      await waitFor(() => started.server.adapter.members('lobby').size === 1);
      client.close();
      await waitFor(() => seen.length === 1);
      expect(seen).toEqual([{ rooms: [], members: 0 }]);
    });
  });
});
