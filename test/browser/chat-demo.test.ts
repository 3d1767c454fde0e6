import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoApp } from '../../src/demo/app.js';
import { launchChromium } from '../helpers/browser.js';

/** Longest wait for anything the page should show (generous: two busy cores). */
const WAIT = 8_000;

let browser: Browser;
let app: FastifyInstance;
let baseUrl: string;
const pages: Page[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  app = await buildDemoApp({ server: { heartbeatIntervalMs: 1_000, reconnectWindowMs: 1_500 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = app.switchyard.url;
});
afterEach(async () => {
  for (const page of pages.splice(0)) if (!page.isClosed()) await page.close();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

interface Line {
  kind: string;
  time: string;
  datetime: string;
  nick: string;
  text: string;
}

/** The chat lines a page shows. */
function lines(page: Page): Promise<Line[]> {
  return page.locator('#lines li').evaluateAll((items) =>
    items.map((li) => ({
      kind: li.className,
      time: li.querySelector('time')?.textContent ?? '',
      datetime: li.querySelector('time')?.getAttribute('datetime') ?? '',
      nick: li.querySelector('.nick')?.textContent ?? '',
      text: li.querySelector('.text')?.textContent ?? '',
    })),
  );
}

/** Who the page lists as here: "nick transport", as the server reported them. */
function users(page: Page): Promise<string[]> {
  return page
    .locator('#users li')
    .evaluateAll((items) =>
      items.map((li) => `${li.querySelector('.nick')?.textContent} ${li.querySelector('.via')?.textContent}`),
    );
}

async function waitForUsers(page: Page, expected: string[]): Promise<void> {
  await expect.poll(() => users(page), { timeout: WAIT }).toEqual(expected);
}

/** Waits until the page's connection state reads `text`. */
async function status(page: Page, text: string): Promise<void> {
  await expect.poll(() => page.locator('#status').textContent(), { timeout: WAIT }).toBe(text);
}

async function open(query: string): Promise<Page> {
  const page = await browser.newPage();
  pages.push(page);
  await page.goto(`${baseUrl}/?${query}`);
  return page;
}

async function join(nick: string, room: string, transport = ''): Promise<Page> {
  const page = await open(`room=${room}${transport ? `&transport=${transport}` : ''}`);
  await page.fill('#nick', nick);
  await page.click('#join button');
  await page.locator('#lines li.notice', { hasText: `you joined #${room} as ${nick}` }).waitFor({ timeout: WAIT });
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.click('#say button');
}

function seen(page: Page, text: string): Promise<void> {
  return page.locator('#lines li', { hasText: text }).first().waitFor({ timeout: WAIT });
}

describe('chat demo in the browser', () => {
  it('two pages on websocket and xhr-polling: presence, history before the join, timestamps, leave', async () => {
    const startedAt = Date.now();
    const alice = await join('alice', 'two', 'websocket');
    await status(alice, 'connected over websocket');
    await say(alice, 'first');
    await say(alice, 'second <b>not bold</b>');
    await seen(alice, 'second');

    const bob = await join('bob', 'two', 'xhr-polling');
    await status(bob, 'connected over xhr-polling');
    expect(await bob.locator('#where').textContent()).toBe('#two');
    // The history, in order, and only then bob's own join.
    expect((await lines(bob)).map(({ kind, nick, text }) => [kind, nick, text])).toEqual([
      ['message', 'alice', 'first'],
      ['message', 'alice', 'second <b>not bold</b>'],
      ['notice mine', '', 'you joined #two as bob'],
    ]);
    expect(await bob.locator('#lines b').count()).toBe(0); // user text is text, never markup

    // Both list both, each with the transport the server sees it on.
    await waitForUsers(alice, ['alice websocket', 'bob xhr-polling']);
    await waitForUsers(bob, ['alice websocket', 'bob xhr-polling']);
    await seen(alice, 'bob joined');

    await say(bob, 'hi alice 😀');
    await seen(alice, 'hi alice 😀');
    await say(alice, 'hello bob');
    await seen(bob, 'hello bob');

    await bob.close();
    await seen(alice, 'bob left');
    await waitForUsers(alice, ['alice websocket']);
    const shown = await lines(alice);
    expect(shown.map(({ kind, nick, text }) => [kind, nick, text])).toEqual([
      ['notice mine', '', 'you joined #two as alice'],
      ['message mine', 'alice', 'first'],
      ['message mine', 'alice', 'second <b>not bold</b>'],
      ['notice', '', 'bob joined'],
      ['message', 'bob', 'hi alice 😀'],
      ['message mine', 'alice', 'hello bob'],
      ['notice', '', 'bob left'],
    ]);
    // Every line carries its time: HH:MM shown, the instant in datetime.
    for (const line of shown) {
      expect(line.time).toMatch(/^\d\d:\d\d$/);
      const at = Date.parse(line.datetime);
      expect(at).toBeGreaterThanOrEqual(startedAt - 1_000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1_000);
    }
    expect(await alice.locator('#status').textContent()).toBe('connected over websocket');
  });

  it('picking a transport reconnects over it alone, in the same place in the room', async () => {
    const watcher = await join('watcher', 'pick', 'websocket');
    const page = await join('pat', 'pick');
    await status(page, 'connected over websocket');
    await waitForUsers(watcher, ['pat websocket', 'watcher websocket']);

    await page.selectOption('#transport', 'jsonp-polling');
    await status(page, 'connected over jsonp-polling');
    await waitForUsers(watcher, ['pat jsonp-polling', 'watcher websocket']);
    await waitForUsers(page, ['pat jsonp-polling', 'watcher websocket']);
    expect(new URL(page.url()).searchParams.get('transport')).toBe('jsonp-polling');

    await say(page, 'still pat');
    await seen(watcher, 'still pat');
    // pat moved without a leave or a second join in the watcher's view.
    const notices = (await lines(watcher)).filter((line) => line.kind === 'notice').map((line) => line.text);
    expect(notices).toEqual(['pat joined']);
  });

  /** Opens the page pinned to a transport Chromium lacks, and checks what it says. */
  async function unsupported(transport: string, need: string): Promise<Page> {
    const page = await open(`transport=${transport}`);
    const problem = page.locator('#problem');
    await problem.waitFor({ timeout: WAIT });
    expect(await problem.locator('strong').textContent()).toBe(`This browser cannot use ${transport}.`);
    expect(await problem.textContent()).toContain(need);
    expect(await problem.locator('button').allTextContents()).toEqual(['websocket', 'xhr-polling', 'jsonp-polling']);
    expect(await page.locator('#status').textContent()).toBe('not connected');
    expect(await page.locator(`#transport option[value="${transport}"]`).textContent()).toBe(
      `${transport} (not in this browser)`,
    );
    return page;
  }

  it('says htmlfile does not work in this browser, and one of the transports it offers does', async () => {
    const page = await unsupported('htmlfile', "Internet Explorer's ActiveX htmlfile object");
    await page.locator('#problem button', { hasText: 'xhr-polling' }).click();
    await status(page, 'connected over xhr-polling');
    expect(await page.locator('#problem').isHidden()).toBe(true);
    expect(await page.locator('#transport').inputValue()).toBe('xhr-polling');
  });

  it.each([
    ['xhr-multipart', 'multipart XMLHttpRequest'],
    ['flashsocket', 'Flash Player 10'],
  ])('says %s does not work in this browser either', async (transport, need) => {
    await unsupported(transport, need);
  });

  it('says so when a transport the browser has gets no answer', async () => {
    const page = await browser.newPage();
    pages.push(page);
    await page.route('**/socket.io/xhr-polling/**', (route) => route.abort());
    await page.goto(`${baseUrl}/?transport=xhr-polling&connectTimeout=1000`);
    const problem = page.locator('#problem');
    await problem.waitFor({ timeout: WAIT });
    expect(await problem.locator('strong').textContent()).toBe('No connection over xhr-polling.');
    expect(await problem.locator('button').allTextContents()).toEqual(['websocket', 'jsonp-polling', 'try again']);
    expect(await page.locator('#status').textContent()).toBe('not connected');
  });
});
