/**
 * The browser checks every browser-runnable legacy transport must pass with the real 0.6
 * client: echo, JSON, unicode, hostile text, heartbeat (or poll) survival and a broadcast to
 * three pages. One test file per transport calls it, so each file has its own browser.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportName } from '../../src/session/transport.js';
import { launchChromium } from './browser.js';
import {
  expectTextEchoes,
  openLegacyPage,
  serveLegacyPages,
  type LegacyPage,
  type PageTraffic,
} from './legacy-page.js';
import { startServer, type StartedServer } from './start-server.js';
import { waitFor } from './wait-for.js';

const HEARTBEAT_MS = 200;
const POLLING: readonly TransportName[] = ['xhr-polling', 'jsonp-polling'];

export function describeLegacyTransportInBrowser(transport: TransportName): void {
  describe(`the 0.6.18 client in Chromium over ${transport}`, () => {
    let browser: Browser;
    let started: StartedServer;
    let traffic: PageTraffic;
    const pages: LegacyPage[] = [];
    const open = async () => {
      const page = await openLegacyPage(browser, started.baseUrl, transport);
      pages.push(page);
      return page;
    };

    beforeAll(async () => {
      browser = await launchChromium();
      started = await startServer(
        { flashPolicyPort: false, heartbeatIntervalMs: HEARTBEAT_MS, heartbeatTimeoutMs: 1_500, pollDurationMs: 300 },
        (server) => {
          traffic = serveLegacyPages(server);
          server.onMessage((conn, data) => conn.send(data));
        },
      );
    });
    afterAll(async () => {
      for (const page of pages.splice(0)) await page.close();
      await started?.close();
      await browser?.close();
    });

    it('connects, and echoes text, unicode, ~m~ and hostile text intact', async () => {
      const page = await open();
      expect(started.server.getConn(page.sessionId)?.transport).toBe(transport);
      await expectTextEchoes(page);
    });

    it('echoes JSON both ways', async () => {
      const page = await open();
      await page.send({ nested: { list: [1, 'два', '😀'] } });
      await page.expectMessage({ nested: { list: [1, 'два', '😀'] } });
    });

    it('keeps its session across several heartbeats (or empty polls)', async () => {
      const page = await open();
      const conn = started.server.getConn(page.sessionId);
      if (POLLING.includes(transport)) {
        // No heartbeats on polling (docs/protocol/socketio-0.6.md §6.3): several empty polls, each
        // followed by the next.
        await waitFor(() => traffic.getsOf(page.sessionId) >= 4, { timeoutMs: 8_000, what: 'four polls' });
      } else {
        // Heartbeat n+1 is sent only once n was echoed, so a fourth proves three echoes.
        await waitFor(async () => (await page.heartbeats()).length >= 4, { timeoutMs: 8_000, what: 'heartbeats' });
        expect((await page.heartbeats()).slice(0, 4)).toEqual(['1', '2', '3', '4']);
      }
      expect(conn?.isOpen).toBe(true); // open, or detached between two polls
      expect(await page.events()).toEqual(['connect']);
      await page.send('after the wait');
      await page.expectMessage('after the wait');
    });

    it('delivers a broadcast to three pages', async () => {
      const three = [await open(), await open(), await open()];
      await waitFor(() => three.every((p) => started.server.getConn(p.sessionId)?.state === 'open'));
      started.server.broadcast({ to: 'all', text: 'é日😀' });
      for (const page of three) await page.expectMessage({ to: 'all', text: 'é日😀' });
    });
  });
}
