/**
 * The live dashboard in headless Chromium: it shows clients on three transports within 2 s
 * of their arrival and their departure, its own connection is no part of the application
 * (not counted, not broadcast to, not authorized, not capped), queue ids are redacted, and
 * off loopback it asks for the admin token through a login form that sets an HttpOnly cookie.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Switchyard } from '../../src/server.js';
import { launchChromium } from '../helpers/browser.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

/** The bound: what happens shows on the page within 2 s (one tick a second). */
const SHOWN_WITHIN_MS = 2_000;

let browser: Browser;
const pages: Page[] = [];
const servers: Array<StartedServer | Switchyard> = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  for (const server of servers.splice(0)) await server.close();
});
afterAll(async () => {
  await browser?.close();
});

async function open(url: string): Promise<Page> {
  const page = await browser.newPage();
  pages.push(page);
  await page.goto(url);
  return page;
}

/** The sessions table as "family transport open" rows. */
function sessionRows(page: Page): Promise<string[]> {
  return page.locator('#sessions tbody tr').evaluateAll((rows) => rows.map((row) => row.textContent ?? ''));
}

describe('dashboard', () => {
  it('shows clients on three transports coming and going, and is no part of the application', async () => {
    let authorizeCalls = 0;
    const started = await startServer({
      dashboard: true,
      metrics: true,
      heartbeatIntervalMs: 0,
      reconnectWindowMs: 60_000,
      maxConnections: 3,
      authorize: (req) => {
        if (req.url?.startsWith('/dashboard')) authorizeCalls++;
        return true;
      },
    });
    servers.push(started);
    const { server, baseUrl, wsUrl } = started;
    const page = await open(`${baseUrl}/dashboard`);
    await expect.poll(() => page.locator('#phase').textContent(), { timeout: 5_000 }).toBe('ready');
    expect(await sessionRows(page)).toEqual([]);

    const ws = await LegacyWsClient.connect(`${wsUrl}/socket.io/websocket`);
    const poll = await LegacyPollClient.connect(baseUrl);
    const sac = await SacSockTestClient.connect(`${wsUrl}/socket`);
    await expect
      .poll(() => sessionRows(page), { timeout: SHOWN_WITHIN_MS })
      .toEqual(['socketio06websocket1', 'socketio06xhr-polling1', 'sacsockwebsocket1']);
    expect(await page.locator('#total').textContent()).toBe('3');

    // The dashboard is not the application's: three clients fill maxConnections (3) and it
    // still connected; a broadcast reaches the three; authorize never saw it; no metric counts it.
    expect(server.broadcast('to the application')).toEqual({ delivered: 3, refused: 0 });
    expect(authorizeCalls).toBe(0);
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/^switchyard_sessions(_opened_total)?\{family="endpoint"/m);

    // A poll client that stops polling keeps what is sent to it queued: the deepest queue, id cut short.
    for (let i = 0; i < 3; i++) server.getConn(poll.sessionId)!.send(`queued ${i}`);
    await expect
      .poll(() => page.locator('#queues tbody tr').first().textContent(), { timeout: SHOWN_WITHIN_MS })
      .toBe(`${poll.sessionId.slice(0, 4)}…socketio06xhr-polling4`);
    expect(await page.content()).not.toContain(poll.sessionId);
    server.join(ws.sessionId, 'lobby');
    await expect
      .poll(() => page.locator('#rooms tbody tr').allTextContents(), { timeout: SHOWN_WITHIN_MS })
      .toEqual(['lobby1']);

    ws.close();
    server.getConn(ws.sessionId)?.close();
    server.getConn(poll.sessionId)?.close();
    sac.close();
    await expect.poll(() => sessionRows(page), { timeout: SHOWN_WITHIN_MS }).toEqual([]);
    expect(await page.locator('#total').textContent()).toBe('0');
    // The chart has had points to draw (uPlot from npm, served by the server).
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
  });

  it('off loopback asks for the admin token with a login form, then keeps an HttpOnly cookie', async () => {
    const server = createServer({ dashboard: true, adminToken: 'open sesame', flashPolicyPort: false });
    servers.push(server);
    await server.listen({ port: 0, host: '0.0.0.0' });
    const url = `http://127.0.0.1:${new URL(server.url).port}/dashboard`;
    // Without the cookie the live feed is refused too (a browser cannot send a header there).
    expect((await rawUpgrade(`${url}/live`)).status).toBe(403);
    const page = await open(url);
    expect(await page.locator('h1').textContent()).toBe('Switchyard dashboard');
    await page.fill('input[name=token]', 'wrong');
    await page.click('button[type=submit]');
    await page.locator('.problem').waitFor();
    expect(await page.locator('.problem').textContent()).toBe('That is not the admin token.');
    await page.fill('input[name=token]', 'open sesame');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('#phase').textContent(), { timeout: 5_000 }).toBe('ready');
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path])).toEqual([
      ['switchyard_admin', true, 'Strict', '/dashboard'],
    ]);
    expect(cookies[0]!.value).not.toContain('sesame');
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await waitFor(async () => (await sessionRows(page)).length === 0, { what: 'an empty sessions table' });
  });
});
