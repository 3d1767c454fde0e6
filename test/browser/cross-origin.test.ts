/**
 * The real 0.6.18 client on a page of ANOTHER origin: a tiny HTTP server of the test serves
 * the page at `http://localhost:<port>`, the page loads the client from Switchyard at
 * `http://127.0.0.1:<port>` and connects there (another host, so another site too) over
 * xhr-polling, jsonp-polling and websocket, without credentials. With an `origins` list naming
 * the page's origin it works; a page of an origin outside the list is refused. `authorize` is
 * set (it lets everyone in) so that jsonp-polling's check of the including page is on, as it
 * is on any server whose sessions carry the visitor's cookies. One browser for the file.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportName } from '../../src/session/transport.js';
import { launchChromium } from '../helpers/browser.js';
import { legacyPageHtml, openLegacyPage, startLegacyPage } from '../helpers/legacy-page.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const TRANSPORTS: readonly TransportName[] = ['xhr-polling', 'jsonp-polling', 'websocket'];

/** What Switchyard answered, as the test sees it from its own 'request' listener. */
interface Answer {
  readonly url: string;
  readonly origin: string | undefined;
  readonly referer: string | undefined;
  readonly status: number;
}

/** What the browser got back from Switchyard, and websocket handshakes it saw fail. */
interface Seen {
  readonly responses: Array<{ url: string; status: number; headers: Record<string, string> }>;
  readonly socketErrors: string[];
}

function watchPage(seen: Seen, serverUrl: () => string): (page: Page) => void {
  return (page) => {
    page.on('response', (response) => {
      if (!response.url().startsWith(serverUrl())) return;
      void response
        .allHeaders()
        .then((headers) => seen.responses.push({ url: response.url(), status: response.status(), headers }));
    });
    page.on('websocket', (ws) => ws.on('socketerror', (error) => seen.socketErrors.push(error)));
  };
}

/** A page server on its own port: another origin than Switchyard's. */
async function pageServer(target: () => string): Promise<{ server: Server; origin: string }> {
  const server = createHttpServer((req, res) => {
    const transport = /^\/page\/([a-z-]+)$/.exec(req.url ?? '')?.[1] as TransportName | undefined;
    if (transport === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(legacyPageHtml(transport, target()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

/** One browser for the file. */
let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('the 0.6.18 client on a page of another origin', () => {
  let started: StartedServer;
  let allowed: { server: Server; origin: string };
  let outsider: { server: Server; origin: string };
  const answers: Answer[] = [];

  beforeAll(async () => {
    allowed = await pageServer(() => started.baseUrl);
    outsider = await pageServer(() => started.baseUrl);
    started = await startServer(
      {
        origins: [new URL(allowed.origin).host],
        authorize: () => true,
        heartbeatIntervalMs: 500,
        pollDurationMs: 500,
        reconnectWindowMs: 1_000,
      },
      (server) => {
        server.onMessage((conn, data) => conn.send(data));
        server.httpServer?.on('request', (req, res) => {
          res.on('finish', () =>
            answers.push({
              url: req.url ?? '',
              origin: req.headers.origin,
              referer: req.headers.referer,
              status: res.statusCode,
            }),
          );
        });
      },
    );
  });
  afterAll(async () => {
    await started?.close();
    for (const page of [allowed, outsider]) page?.server.close();
  });

  it.each(TRANSPORTS)('%s: works from a page whose origin the list names', async (transport) => {
    const seen: Seen = { responses: [], socketErrors: [] };
    const watch = watchPage(seen, () => started.baseUrl);
    const page = await openLegacyPage(browser, started.baseUrl, transport, {
      pageUrl: `${allowed.origin}/page/${transport}`,
      watch,
    });
    try {
      expect(await page.page.evaluate(() => location.origin)).toBe(allowed.origin);
      expect(started.server.getConn(page.sessionId)?.transport).toBe(transport);
      await page.send({ from: 'another origin', text: 'héllo 😀' });
      await page.expectMessage({ from: 'another origin', text: 'héllo 😀' });
      started.server.broadcast('to everyone');
      await page.expectMessage('to everyone');
      if (transport === 'xhr-polling') {
        // CORS names the page's origin (never *), and credentials are allowed for a named one.
        const polls = seen.responses.filter((r) => r.url.includes('/xhr-polling/'));
        expect(polls.length).toBeGreaterThan(0);
        for (const { headers } of polls) {
          expect(headers['access-control-allow-origin']).toBe(allowed.origin);
          expect(headers['access-control-allow-credentials']).toBe('true');
        }
      }
    } finally {
      await page.close();
    }
  });

  it.each(TRANSPORTS)('%s: is refused from a page whose origin is not on the list', async (transport) => {
    const before = started.server.connectionCount;
    const seen: Seen = { responses: [], socketErrors: [] };
    const page = await startLegacyPage(
      browser,
      `${outsider.origin}/page/${transport}`,
      watchPage(seen, () => started.baseUrl),
    );
    try {
      if (transport === 'websocket') {
        await waitFor(() => seen.socketErrors.some((error) => error.includes('403')), {
          what: 'the refused handshake',
        });
      } else {
        // xhr-polling: the handshake's Origin is refused; jsonp-polling: the including page
        // (Referer, Sec-Fetch-Site: cross-site) is, since authorize is set.
        const refused = (a: Answer) =>
          a.status === 403 &&
          a.url.includes(`/${transport}/`) &&
          (a.origin === outsider.origin || a.referer?.startsWith(outsider.origin) === true);
        await waitFor(() => answers.some(refused), { what: `the refused ${transport} handshake` });
      }
      expect(await page.events()).not.toContain('connect');
      expect(started.server.connectionCount).toBeLessThanOrEqual(before);
      // No answer to that page carries CORS headers: the browser lets it read nothing.
      expect(seen.responses.some((r) => r.headers['access-control-allow-origin'] !== undefined)).toBe(false);
    } finally {
      await page.close();
    }
  });
});

describe('jsonp-polling from a page outside the list, without authorize', () => {
  let started: StartedServer;
  let outsider: { server: Server; origin: string };
  const messages: unknown[] = [];
  const refusedPosts: string[] = [];

  beforeAll(async () => {
    outsider = await pageServer(() => started.baseUrl);
    started = await startServer({ origins: ['example.com:*'], pollDurationMs: 500 }, (server) => {
      server.onMessage((_conn, data) => messages.push(data));
      server.httpServer?.on('request', (req, res) => {
        res.on('finish', () => {
          if (req.method === 'POST' && res.statusCode === 403) refusedPosts.push(req.headers.origin ?? '');
        });
      });
    });
  });
  afterAll(async () => {
    await started?.close();
    outsider?.server.close();
  });

  it('gets a session (a script GET carries no Origin) but every message it sends is refused', async () => {
    // Documented in docs/security.md: without authorize there are no credentials to protect,
    // and a script GET shows no Origin; the page's form POSTs do, and are refused.
    const page = await openLegacyPage(browser, started.baseUrl, 'jsonp-polling', {
      pageUrl: `${outsider.origin}/page/jsonp-polling`,
    });
    try {
      await page.send('from outside');
      await waitFor(() => refusedPosts.includes(outsider.origin), { what: 'the refused POST' });
      expect(messages).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
