/**
 * Pages that run the unmodified 0.6.18 client in Chromium against a test server, pinned to
 * one transport. The test server serves the page, the client (from npm) and, for htmlfile
 * and xhr-multipart, the test-only shims of test/browser/shims/ that stand in for IE's
 * ActiveXObject('htmlfile') and old Firefox's multipart XHR. What the shims consume is the
 * server's real output.
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TransportName } from '../../src/session/transport.js';
import type { Switchyard } from '../../src/server.js';
import { waitFor } from './wait-for.js';

const SHIMMED: Partial<Record<TransportName, string>> = {
  htmlfile: 'htmlfile.js',
  'xhr-multipart': 'xhr-multipart.js',
};

function pageHtml(transport: TransportName): string {
  const shim = SHIMMED[transport];
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${transport}</title>
${shim === undefined ? '' : `<script src="/legacy-test/shims/${shim}"></script>`}
<script src="/socket.io/socket.io.js"></script>
</head><body>
<script>
  window.received = [];
  window.events = [];
  window.heartbeats = [];
  window.sessionIds = [];
  window.startSocket = function () {
    var socket = new io.Socket(location.hostname, {
      port: location.port, transports: [${JSON.stringify(transport)}],
      rememberTransport: false, reconnect: /[?&]reconnect=1/.test(location.search)
    });
    socket.on('connect', function () {
      events.push('connect');
      sessionIds.push(socket.transport.sessionid);
      // Observe (not change) the client's own heartbeat handling: it echoes each one.
      var onHeartbeat = socket.transport.onHeartbeat;
      socket.transport.onHeartbeat = function (number) {
        heartbeats.push(number);
        return onHeartbeat.apply(this, arguments);
      };
    });
    socket.on('disconnect', function () { events.push('disconnect'); });
    socket.on('reconnect', function () { events.push('reconnect'); });
    socket.on('message', function (message) { received.push(message); });
    socket.connect();
    window.socket = socket;
  };
</script>
</body></html>`;
}

/** What the test server saw of the pages' requests. */
export interface PageTraffic {
  /** GET requests carrying this session id (polls, for the polling transports). */
  getsOf(sessionId: string): number;
}

/** Adds the page and shim routes to a server made by createServer (call before listen). */
export function serveLegacyPages(server: Switchyard): PageTraffic {
  const app = server.app;
  if (app === undefined) throw new Error('serveLegacyPages needs a server made by createServer()');
  const gets: string[] = [];
  // A second 'request' listener only looks; fastify's own answers the request.
  app.server.on('request', (req) => {
    if (req.method === 'GET' && req.url !== undefined) gets.push(req.url);
  });
  app.get<{ Params: { transport: string } }>('/legacy-test/page/:transport', async (request, reply) => {
    return reply.type('text/html; charset=utf-8').send(pageHtml(request.params.transport as TransportName));
  });
  app.get<{ Params: { file: string } }>('/legacy-test/shims/:file', async (request, reply) => {
    const file = Object.values(SHIMMED).find((name) => name === request.params.file);
    if (file === undefined) return reply.code(404).send();
    const body = readFileSync(new URL(`../browser/shims/${file}`, import.meta.url));
    return reply.type('text/javascript; charset=utf-8').send(body);
  });
  return { getsOf: (sessionId) => gets.filter((url) => url.includes(`/${sessionId}/`)).length };
}

/** A page connected over `transport`, with what it received and the session id it got. */
export interface LegacyPage {
  readonly page: Page;
  readonly sessionId: string;
  received(): Promise<unknown[]>;
  events(): Promise<string[]>;
  /** Heartbeat numbers the client received (and echoed), in order. */
  heartbeats(): Promise<string[]>;
  /** Every session id the client had, in order (one per connect). */
  sessionIds(): Promise<string[]>;
  send(value: unknown): Promise<void>;
  /** Waits until the page has received `expected` (deep equality) and takes it out. */
  expectMessage(expected: unknown): Promise<void>;
  /** The client's own `socket.disconnect()`. */
  disconnect(): Promise<void>;
  close(): Promise<void>;
}

export interface LegacyPageOptions {
  /** The client's own reconnect (0.6's default); off unless asked for, so a drop shows. */
  reconnect?: boolean;
  /** A browser context to share (tabs of one browser: one cookie jar); default a new one per page. */
  context?: BrowserContext;
}

/**
 * Opens the page, waits for `load` (the client defers polling transports until then, and a
 * streaming iframe opened before it would hold `load` back), then connects.
 */
export async function openLegacyPage(
  browser: Browser,
  baseUrl: string,
  transport: TransportName,
  options: LegacyPageOptions = {},
): Promise<LegacyPage> {
  const context = options.context ?? (await browser.newContext());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const query = options.reconnect === true ? '?reconnect=1' : '';
  await page.goto(`${baseUrl}/legacy-test/page/${transport}${query}`, { waitUntil: 'load' });
  await page.evaluate(() => (window as unknown as { startSocket(): void }).startSocket());
  let sessionId = '';
  await waitFor(
    async () => {
      if (errors.length > 0) throw new Error(`page error: ${errors.join('; ')}`);
      sessionId = await page.evaluate(() => {
        const socket = (window as unknown as { socket: { connected: boolean; transport: { sessionid?: string } } })
          .socket;
        return socket.connected ? (socket.transport.sessionid ?? '') : '';
      });
      return sessionId !== '';
    },
    { timeoutMs: 8_000, what: `the ${transport} client to connect` },
  );
  const received = () => page.evaluate(() => (window as unknown as { received: unknown[] }).received.slice());
  return {
    page,
    sessionId,
    received,
    events: () => page.evaluate(() => (window as unknown as { events: string[] }).events.slice()),
    heartbeats: () => page.evaluate(() => (window as unknown as { heartbeats: string[] }).heartbeats.slice()),
    sessionIds: () => page.evaluate(() => (window as unknown as { sessionIds: string[] }).sessionIds.slice()),
    send: (value) =>
      page.evaluate((v) => (window as unknown as { socket: { send(v: unknown): void } }).socket.send(v), value),
    disconnect: () =>
      page.evaluate(() => (window as unknown as { socket: { disconnect(): void } }).socket.disconnect()),
    async expectMessage(expected) {
      const wanted = JSON.stringify(expected);
      await waitFor(
        async () => {
          if (errors.length > 0) throw new Error(`page error: ${errors.join('; ')}`);
          return page.evaluate((w) => {
            const list = (window as unknown as { received: unknown[] }).received;
            const index = list.findIndex((item) => JSON.stringify(item) === w);
            if (index === -1) return false;
            list.splice(index, 1);
            return true;
          }, wanted);
        },
        { timeoutMs: 8_000, what: `the page to receive ${wanted}` },
      );
    },
    async close() {
      // A shared context belongs to the test; a page of its own goes with its context.
      if (options.context === undefined) await context.close();
      else await page.close();
    },
  };
}

/** Text a transport must carry intact: plain, unicode (astral too), the frame marker, script breakers. */
export const ECHO_TEXTS = [
  'hello',
  'héllo 日本 😀',
  'a~m~b',
  '</script><script>top.pwned=1</script>',
  'x\u2028y\u2029z',
];

/** Sends each of ECHO_TEXTS and waits for its echo; no script the server wrote may have run. */
export async function expectTextEchoes(page: LegacyPage): Promise<void> {
  for (const text of ECHO_TEXTS) {
    await page.send(text);
    await page.expectMessage(text);
  }
  const pwned = await page.page.evaluate(() => (window as unknown as { pwned?: number }).pwned);
  if (pwned !== undefined) throw new Error('a script in an echoed message ran');
}
