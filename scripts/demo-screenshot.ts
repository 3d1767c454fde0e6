/**
 * Renders docs/images/chat-demo.png: the chat demo with two people talking, one on
 * websocket and one on xhr-polling, as the first of them sees it.
 *
 *   npx tsx scripts/demo-screenshot.ts [out.png]
 *
 * Uses the same headless Chromium as the browser tests (CHROMIUM_PATH to point elsewhere).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { buildDemoApp } from '../src/demo/app.js';
import { launchChromium } from '../test/helpers/browser.js';

const out = process.argv[2] ?? fileURLToPath(new URL('../docs/images/chat-demo.png', import.meta.url));

const app = await buildDemoApp({ server: { reconnectWindowMs: 1_000 } });
await app.listen({ port: 0, host: '127.0.0.1' });
const browser = await launchChromium();
try {
  const open = async (nick: string, transport: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 960, height: 620 }, deviceScaleFactor: 1 });
    await page.goto(`${app.switchyard.url}/?room=lobby&transport=${transport}`);
    await page.fill('#nick', nick);
    await page.click('#join button');
    await page.locator('#lines li.notice', { hasText: 'you joined' }).waitFor();
    return page;
  };
  const say = async (page: Page, text: string, reader: Page): Promise<void> => {
    await page.fill('#text', text);
    await page.click('#say button');
    await reader.locator('#lines li', { hasText: text }).last().waitFor();
  };

  const carol = await open('carol', 'jsonp-polling');
  await say(carol, 'morning! the coffee machine is fixed ☕', carol);
  const alice = await open('alice', 'websocket');
  await say(carol, 'off to a meeting, back later', alice);
  await carol.close();
  await alice.locator('#lines li', { hasText: 'carol left' }).waitFor();

  const bob = await open('bob', 'xhr-polling');
  await alice.locator('#lines li', { hasText: 'bob joined' }).waitFor();
  await say(bob, 'hi alice, which transport are you on?', alice);
  await say(alice, 'websocket. you?', alice);
  await say(bob, 'xhr-polling: one long poll at a time, same room', alice);
  await say(alice, 'the list on the right says so too', alice);
  await alice.locator('#users li', { hasText: 'bob' }).waitFor();
  await alice.fill('#text', 'nice, switching to jsonp-polling next');

  await mkdir(dirname(out), { recursive: true });
  await alice.screenshot({ path: out, type: 'png' });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await app.close();
}
