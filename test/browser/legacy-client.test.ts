import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateServerOptions } from '../../src/server.js';
import type { Conn } from '../../src/session/conn.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { launchChromium } from '../helpers/browser.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

/** What the test page keeps on `window` (see PAGE below). */
interface TestWindow {
  events: string[];
  received: unknown[];
  socket: { send(value: unknown): void; disconnect(): void; connected: boolean };
  openSocket(port: number, transport: string): void;
}

// The 0.6 client defers xhr-polling until window load + 100 ms under WebKit, so the page
// loads the client itself and connects only when the test says so.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script src="/socket.io/socket.io.js"></script>
<script>
  window.events = [];
  window.received = [];
  window.openSocket = function (port, transport) {
    var socket = new io.Socket('127.0.0.1', {
      port: port, transports: [transport], rememberTransport: false, reconnect: false
    });
    socket.on('connect', function () { events.push('connect:' + socket.transport.type); });
    socket.on('disconnect', function () { events.push('disconnect'); });
    socket.on('message', function (message) { received.push(message); });
    window.socket = socket;
    socket.connect();
  };
</script></body></html>`;

const TIMING: CreateServerOptions = {
  heartbeatIntervalMs: 250,
  heartbeatTimeoutMs: 1_000,
  pollDurationMs: 400,
  reconnectWindowMs: 400,
};

let browser: Browser;
let started: StartedServer | undefined;
const pages: Page[] = [];
const conns: Conn[] = [];
const disconnects: DisconnectInfo[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  await started?.close();
  started = undefined;
  conns.length = 0;
  disconnects.length = 0;
});

async function startEchoServer(): Promise<StartedServer> {
  started = await startServer(TIMING, (server) => {
    server.app?.get('/page', (_request, reply) => {
      void reply.type('text/html; charset=utf-8').send(PAGE);
    });
    server.onConnect((conn) => conns.push(conn));
    server.onMessage((conn, data) => conn.send(data));
    server.onDisconnect((_conn, info) => disconnects.push(info));
  });
  return started;
}

/** A new page whose 0.6 client is connected over `transport`. */
async function connectedPage(transport: string, beforeConnect?: (page: Page) => void): Promise<Page> {
  if (started === undefined) throw new Error('no server');
  const page = await browser.newPage();
  pages.push(page);
  beforeConnect?.(page);
  await page.goto(`${started.baseUrl}/page`);
  const port = Number(new URL(started.baseUrl).port);
  await page.evaluate(([p, t]) => (window as unknown as TestWindow).openSocket(p, t), [port, transport] as const);
  await page.waitForFunction((t) => (window as unknown as TestWindow).events.includes('connect:' + t), transport, {
    timeout: 5_000,
  });
  return page;
}

function received(page: Page): Promise<unknown[]> {
  return page.evaluate(() => (window as unknown as TestWindow).received);
}

async function waitForReceived(page: Page, count: number): Promise<unknown[]> {
  await page.waitForFunction((n) => (window as unknown as TestWindow).received.length >= n, count, { timeout: 5_000 });
  return received(page);
}

describe.each(['websocket', 'xhr-polling'])('the real 0.6 client over %s', (transport) => {
  it('connects and echoes text, JSON, unicode and text containing ~m~', async () => {
    await startEchoServer();
    const page = await connectedPage(transport);
    await waitFor(() => conns.length === 1);
    expect(conns[0]?.transport).toBe(transport);
    const values = ['hello', { a: 1, list: [1, 'two'] }, 'é 日本 😀', 'a~m~b ~m~5~m~x', 'x+y z&=%'];
    await page.evaluate((v) => {
      for (const value of v) (window as unknown as TestWindow).socket.send(value);
    }, values);
    expect(await waitForReceived(page, values.length)).toEqual(values);
  });

  it('stays connected across several heartbeat intervals', async () => {
    await startEchoServer();
    // What the browser sends: heartbeat echoes over its websocket, poll requests otherwise.
    const sentFrames: string[] = [];
    const polls: string[] = [];
    const page = await connectedPage(transport, (p) => {
      p.on('websocket', (ws) => ws.on('framesent', (frame) => sentFrames.push(String(frame.payload))));
      p.on('requestfinished', (request) => {
        if (/\/xhr-polling\/[0-9A-Za-z]{16}\/\d+$/.test(request.url())) polls.push(request.url());
      });
    });
    await waitFor(() => conns.length === 1);
    if (transport === 'websocket') {
      // Heartbeats run on streaming transports; ~h~<n+1> is sent only after ~h~<n> was echoed.
      const echoes = () => sentFrames.filter((frame) => /^~m~\d+~m~~h~\d+$/.test(frame));
      // Bounds for a loaded machine (a browser and the whole suite on two cores), not for speed.
      await waitFor(() => echoes().length >= 3, { timeoutMs: 10_000, what: 'three heartbeat echoes' });
      expect(echoes().slice(0, 3)).toEqual(['~m~4~m~~h~1', '~m~4~m~~h~2', '~m~4~m~~h~3']);
    } else {
      // No heartbeats on polling: the polls themselves, each held pollDurationMs, keep it alive.
      await waitFor(() => polls.length >= 3, { timeoutMs: 10_000, what: 'three polls answered' });
    }
    expect(disconnects).toEqual([]);
    await page.evaluate(() => (window as unknown as TestWindow).socket.send('still here'));
    expect(await waitForReceived(page, 1)).toEqual(['still here']);
    expect(await page.evaluate(() => (window as unknown as TestWindow).events)).toEqual([`connect:${transport}`]);
  });

  it('receives a broadcast in three pages at once', async () => {
    const { server } = await startEchoServer();
    const three = await Promise.all([connectedPage(transport), connectedPage(transport), connectedPage(transport)]);
    // Three open sessions: on a loaded machine a page's client may drop a failed poll's session
    // and open another (the 0.6 client's own reconnect), so count the open ones, not the opened.
    await waitFor(() => conns.filter((conn) => conn.state !== 'closed').length === 3, { what: 'three open sessions' });
    expect(server.broadcast({ news: 'for all 😀' })).toEqual({ delivered: 3, refused: 0 });
    for (const page of three) expect(await waitForReceived(page, 1)).toEqual([{ news: 'for all 😀' }]);
  });

  it("reports the client's disconnect() to the server", async () => {
    await startEchoServer();
    const page = await connectedPage(transport);
    await waitFor(() => conns.length === 1);
    await page.evaluate(() => (window as unknown as TestWindow).socket.disconnect());
    await waitFor(() => disconnects.length === 1, { what: 'the disconnect on the server' });
    expect(disconnects[0]?.reason).toBe('window-expired');
    expect(conns[0]?.state).toBe('closed');
  });
});
