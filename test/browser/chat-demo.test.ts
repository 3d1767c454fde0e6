import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoApp } from '../../src/demo/app.js';
import { launchChromium } from '../helpers/browser.js';

let browser: Browser;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  browser = await launchChromium();
  app = await buildDemoApp({ server: { heartbeatIntervalMs: 500, reconnectWindowMs: 300 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = app.switchyard.url;
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** The chat lines a page shows, as text. */
function lines(page: Page): Promise<string[]> {
  return page.locator('#lines li').allTextContents();
}

async function join(nick: string, transport: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${baseUrl}/?transport=${transport}`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('connected'));
  await page.fill('#nick', nick);
  await page.click('#join button');
  await page.locator('#lines li', { hasText: `you joined as ${nick}` }).waitFor({ timeout: 5_000 });
  return page;
}

describe('chat demo in the browser', () => {
  it('shows joins, messages and leaves between two pages (one on websocket, one on xhr-polling)', async () => {
    const alice = await join('alice', 'websocket');
    const bob = await join('bob', 'xhr-polling');
    expect(await bob.locator('#status').textContent()).toBe('connected over xhr-polling');
    await alice.locator('#lines li', { hasText: 'bob joined' }).waitFor({ timeout: 5_000 });

    await bob.fill('#text', 'hi alice 😀');
    await bob.click('#say button');
    await alice.locator('#lines li', { hasText: 'hi alice 😀' }).waitFor({ timeout: 5_000 });
    await alice.fill('#text', 'hello bob');
    await alice.click('#say button');
    await bob.locator('#lines li', { hasText: 'hello bob' }).waitFor({ timeout: 5_000 });

    await bob.close();
    await alice.locator('#lines li', { hasText: 'bob left' }).waitFor({ timeout: 5_000 });
    expect(await lines(alice)).toEqual([
      'you joined as alice',
      'bob joined',
      'bob:hi alice 😀',
      'alice:hello bob',
      'bob left',
    ]);
    expect(await alice.locator('#status').textContent()).toBe('connected over websocket');
    await alice.close();
  });
});
