/**
 * Renders docs/images/dashboard.png: the live dashboard of a chat demo with a few clients on
 * different transports, rooms, and some traffic, as an operator sees it.
 *
 *   npx tsx scripts/dashboard-screenshot.ts [out.png]
 *
 * Uses the same headless Chromium as the browser tests (CHROMIUM_PATH to point elsewhere).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { buildDemoApp } from '../src/demo/app.js';
import { launchChromium } from '../test/helpers/browser.js';

const out = process.argv[2] ?? fileURLToPath(new URL('../docs/images/dashboard.png', import.meta.url));

const app = await buildDemoApp({ server: { dashboard: true, metrics: true, health: true, flashPolicyPort: false } });
await app.listen({ port: 0, host: '127.0.0.1' });
const browser = await launchChromium();
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
try {
  const chat = async (nick: string, room: string, transport: string): Promise<Page> => {
    const page = await browser.newPage();
    await page.goto(`${app.switchyard.url}/?room=${room}&transport=${transport}`);
    await page.fill('#nick', nick);
    await page.click('#join button');
    await page.locator('#lines li.notice', { hasText: 'you joined' }).waitFor();
    return page;
  };
  const people = [
    await chat('alice', 'lobby', 'websocket'),
    await chat('bob', 'lobby', 'xhr-polling'),
    await chat('carol', 'lobby', 'jsonp-polling'),
    await chat('dave', 'ops', 'websocket'),
    await chat('erin', 'ops', 'xhr-polling'),
  ];
  const dashboard = await browser.newPage({ viewport: { width: 1100, height: 760 }, deviceScaleFactor: 1 });
  await dashboard.goto(`${app.switchyard.url}/dashboard`);
  // A minute of chatter, compressed: a few messages a second for the chart.
  for (let second = 0; second < 12; second++) {
    for (const [i, page] of people.entries()) {
      if ((second + i) % 2 === 0) {
        await page.fill('#text', `message ${second}.${i}`);
        await page.click('#say button');
      }
    }
    await wait(1_000);
  }
  await mkdir(dirname(out), { recursive: true });
  await dashboard.screenshot({ path: out, type: 'png' });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await app.close();
}
