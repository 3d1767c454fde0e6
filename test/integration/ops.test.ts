/**
 * Health, readiness and Prometheus metrics with real clients: a 0.6 websocket session, an
 * xhr-polling session and a sac-sock socket, scraped over HTTP. Also the admin token off
 * loopback, readiness while draining, the plugin mode under a prefix, and the numbers of
 * two servers in one process staying apart.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { switchyard } from '../../src/server.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const started: StartedServer[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<StartedServer> {
  const s = await startServer({ metrics: true, health: true, heartbeatIntervalMs: 0, ...options });
  started.push(s);
  return s;
}

async function scrape(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample line, by metric name and exact label text. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('health', () => {
  it('answers /healthz and /readyz, and /readyz 503 once draining', async () => {
    const s = await start();
    expect(await (await fetch(`${s.baseUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${s.baseUrl}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
    // A websocket session keeps the drain going long enough to ask.
    const client = await LegacyWsClient.connect(`${s.wsUrl}/socket.io/websocket`);
    client.ws.pause();
    const closing = s.server.close();
    const draining = await fetch(`${s.baseUrl}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({
      status: 'not ready',
      code: 'ERR_SHUTTING_DOWN',
      reason: 'the server is draining',
    });
    client.ws.resume();
    client.close();
    await closing;
    started.splice(started.indexOf(s), 1);
  });

  it('is off unless asked for', async () => {
    const s = await start({ metrics: false, health: false });
    expect((await fetch(`${s.baseUrl}/healthz`)).status).toBe(404);
    expect((await fetch(`${s.baseUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${s.baseUrl}/dashboard`)).status).toBe(404);
  });
});

describe('metrics', () => {
  it('counts sessions by family and transport, messages, fan-out and rooms, with process metrics', async () => {
    const s = await start();
    const { server, baseUrl, wsUrl } = s;
    server.onMessage((conn, data) => void conn.send(data));
    const ws = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    const poll = await LegacyPollClient.connect(baseUrl);
    const sac = await SacSockTestClient.connect(`${wsUrl}/socket`);
    await waitFor(() => server.connectionCount === 2 && server.sacSock?.size === 1);
    server.join(ws.sessionId, 'lobby');
    server.join(poll.sessionId, 'lobby');
    ws.send('~m~5~m~hello');
    await ws.nextMessage((m) => m.data === 'hello');
    expect(server.to('lobby').send('news')).toEqual({ delivered: 2, refused: 0 });

    const text = await scrape(baseUrl);
    expect(sample(text, 'switchyard_sessions{family="socketio06",transport="websocket"}')).toBe(1);
    expect(sample(text, 'switchyard_sessions{family="socketio06",transport="xhr-polling"}')).toBe(1);
    expect(sample(text, 'switchyard_sessions{family="sacsock",transport="websocket"}')).toBe(1);
    expect(sample(text, 'switchyard_sessions_opened_total{family="socketio06",transport="websocket"}')).toBe(1);
    expect(sample(text, 'switchyard_messages_received_total{family="socketio06"}')).toBe(1);
    expect(sample(text, 'switchyard_messages_sent_total{family="socketio06"}')).toBe(3);
    expect(sample(text, 'switchyard_fanout_deliveries_total')).toBe(2);
    expect(sample(text, 'switchyard_fanout_duration_seconds_count')).toBe(1);
    expect(sample(text, 'switchyard_fanout_duration_seconds_bucket{le="+Inf"}')).toBe(1);
    expect(sample(text, 'switchyard_rooms')).toBe(1);
    expect(sample(text, 'switchyard_adapter_errors_total')).toBe(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // Never an id or a room name in a label.
    expect(text).not.toContain(ws.sessionId);
    expect(text).not.toContain('lobby');

    sac.close();
    await waitFor(() => server.sacSock?.size === 0);
    const after = await scrape(baseUrl);
    expect(sample(after, 'switchyard_sessions{family="sacsock",transport="websocket"}')).toBe(0);
    expect(
      sample(after, 'switchyard_sessions_closed_total{family="sacsock",transport="websocket",reason="client"}'),
    ).toBe(1);
    ws.close();
    await poll.stop();
  });

  it('keeps two servers in one process apart (one registry each)', async () => {
    const a = await start();
    const b = await start();
    const ws = await LegacyWsClient.connect(`${a.wsUrl}/socket.io/websocket`);
    await waitFor(() => a.server.connectionCount === 1);
    expect(sample(await scrape(a.baseUrl), 'switchyard_sessions{family="socketio06",transport="websocket"}')).toBe(1);
    expect(
      sample(await scrape(b.baseUrl), 'switchyard_sessions{family="socketio06",transport="websocket"}'),
    ).toBeUndefined();
    ws.close();
  });

  it('counts refused upgrades', async () => {
    const s = await start({ authorize: () => false });
    const refused = await rawUpgrade(`${s.baseUrl}/socket`, { 'Sec-WebSocket-Protocol': 'sac-sock' });
    expect(refused.status).toBe(401);
    await waitFor(async () => sample(await scrape(s.baseUrl), 'switchyard_upgrades_refused_total') === 1, {
      what: 'one refused upgrade counted',
    });
  });
});

describe('admin token off loopback', () => {
  it('asks /metrics for the Bearer token when the server listens beyond loopback', async () => {
    const server = (await import('../../src/server.js')).createServer({
      metrics: true,
      adminToken: 'sesame',
      flashPolicyPort: false,
    });
    await server.listen({ port: 0, host: '0.0.0.0' });
    const port = new URL(server.url).port;
    try {
      const base = `http://127.0.0.1:${port}`;
      const closed = await fetch(`${base}/metrics`);
      expect(closed.status).toBe(401);
      expect(await closed.json()).toMatchObject({ code: 'ERR_UNAUTHORIZED' });
      expect((await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
      expect((await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer sesame' } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('plugin mode', () => {
  it('mounts under the prefix of the scope it is registered in, ready once the host listens', async () => {
    const app = Fastify();
    await app.register(
      async (scope) => {
        await scope.register(switchyard, { health: true, metrics: true, flashPolicyPort: false });
      },
      { prefix: '/ops' },
    );
    await app.ready();
    const before = await app.inject('/ops/readyz');
    expect(before.statusCode).toBe(503);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const address = app.server.address() as { port: number };
      const base = `http://127.0.0.1:${address.port}`;
      expect((await fetch(`${base}/ops/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/ops/metrics`)).status).toBe(200);
      expect((await fetch(`${base}/healthz`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
