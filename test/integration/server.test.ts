import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { CLIENT_VERSION } from '../../src/http/client-files.js';
import { switchyard } from '../../src/server.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { LegacyPollClient } from '../helpers/legacy-poll-raw.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const toClose: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

async function start(...args: Parameters<typeof startServer>): Promise<StartedServer> {
  const started = await startServer(...args);
  toClose.push(() => started.close());
  return started;
}

describe('fastify plugin mode', () => {
  let app: FastifyInstance;

  async function startApp(): Promise<string> {
    app = Fastify();
    app.get('/own', async () => ({ own: true }));
    await app.register(switchyard, { resource: 'rt', heartbeatIntervalMs: 0 });
    app.switchyard.onMessage((conn, data) => conn.send(data));
    await app.listen({ port: 0, host: '127.0.0.1' });
    toClose.push(() => app.close());
    return app.switchyard.url;
  }

  it("serves the legacy resource beside the app's own routes, over both transports", async () => {
    const baseUrl = await startApp();
    expect(await (await fetch(`${baseUrl}/own`)).json()).toEqual({ own: true });
    const ws = await LegacyWsClient.connect(`${baseUrl.replace('http', 'ws')}/rt/websocket`);
    toClose.push(async () => ws.ws.terminate());
    ws.send(encodeFrame('~j~{"via":"ws"}'));
    expect(await ws.nextMessage()).toEqual({ type: 'json', data: { via: 'ws' } });
    const poll = new LegacyPollClient(baseUrl, 'rt');
    expect((await poll.open()).status).toBe(200);
    expect(poll.sessionId).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(app.switchyard.connectionCount).toBe(2);
    expect((await fetch(`${baseUrl}/socket.io/websocket`)).status).toBe(404);
  });

  it('ends its sessions when the app closes', async () => {
    const baseUrl = await startApp();
    const reasons: string[] = [];
    app.switchyard.onDisconnect((_conn, info) => reasons.push(info.reason));
    const ws = await LegacyWsClient.connect(`${baseUrl.replace('http', 'ws')}/rt/websocket`);
    await app.close();
    await waitFor(() => ws.closeCode !== undefined);
    expect(ws.closeCode).toBe(1001);
    expect(reasons).toEqual(['shutdown']);
  });
});

describe('standalone server', () => {
  it('serves the real 0.6 client from the npm dependency, with its version as ETag', async () => {
    const { baseUrl } = await start();
    const response = await fetch(`${baseUrl}/socket.io/socket.io.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=UTF-8');
    expect(response.headers.get('etag')).toBe(CLIENT_VERSION);
    const body = await response.text();
    expect(body).toContain(`version: '${CLIENT_VERSION}'`);
    const cached = await fetch(`${baseUrl}/socket.io/socket.io.js`, { headers: { 'If-None-Match': CLIENT_VERSION } });
    expect(cached.status).toBe(304);
  });

  it("lets a request hook the application adds see the resource's requests", async () => {
    const seen: string[] = [];
    const { baseUrl } = await start({}, (server) => {
      server.app?.addHook('onRequest', (request, _reply, done) => {
        seen.push(request.url);
        done();
      });
    });
    const response = await fetch(`${baseUrl}/socket.io/xhr-polling//1`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^~m~\d+~m~/);
    expect(seen).toEqual(['/socket.io/xhr-polling//1']);
  });

  it('keeps two servers in one process apart', async () => {
    const a = await start();
    const b = await start();
    const client = await LegacyWsClient.connect(`${a.wsUrl}/socket.io/websocket`);
    toClose.push(async () => client.ws.terminate());
    expect(a.server.getConn(client.sessionId)).toBeDefined();
    expect(b.server.getConn(client.sessionId)).toBeUndefined();
    expect(b.server.broadcast('x')).toEqual({ delivered: 0, refused: 0 });
    const poll = new LegacyPollClient(b.baseUrl);
    poll.sessionId = client.sessionId;
    expect((await poll.poll()).status).toBe(404);
  });

  it('broadcasts across transports, encoding once per codec', async () => {
    const { server, baseUrl, wsUrl } = await start();
    const ws = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    toClose.push(async () => ws.ws.terminate());
    const poll = new LegacyPollClient(baseUrl);
    await poll.open();
    expect(server.broadcast({ to: 'all' })).toEqual({ delivered: 2, refused: 0 });
    expect(await ws.nextMessage()).toEqual({ type: 'json', data: { to: 'all' } });
    expect(await poll.pollMessages()).toEqual([{ type: 'json', data: { to: 'all' } }]);
  });

  it('reports a throwing handler as an error event, and the session lives on', async () => {
    const errors: Error[] = [];
    const { wsUrl, server } = await start({}, (s) => {
      s.on('error', (error) => errors.push(error));
      s.onMessage((conn, data) => {
        if (data === 'boom') throw new Error('handler failed');
        conn.send(data);
      });
    });
    const ws = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    toClose.push(async () => ws.ws.terminate());
    ws.send(encodeFrame('boom') + encodeFrame('after'));
    expect(await ws.nextMessage()).toEqual({ type: 'text', data: 'after' });
    expect(errors.map((error) => error.message)).toEqual(['handler failed']);
    expect(server.getConn(ws.sessionId)?.state).toBe('open');
  });

  it('close() ends every session once, with reason shutdown, answering held polls', async () => {
    const infos: DisconnectInfo[] = [];
    const started = await startServer({}, (s) => s.onDisconnect((_conn, info) => infos.push(info)));
    const ws = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    const poll = new LegacyPollClient(started.baseUrl);
    await poll.open();
    const held = poll.poll();
    await waitFor(() => started.server.getConn(poll.sessionId)?.state === 'open');
    await started.close();
    expect((await held).status).toBe(200);
    await waitFor(() => ws.closeCode !== undefined);
    expect(ws.closeCode).toBe(1001);
    expect(infos.map((info) => info.reason)).toEqual(['shutdown', 'shutdown']);
  });
});
