/**
 * The chat demo, unchanged, with the real 0.6.18 client in Chromium against
 * `switchyard --workers 2 --redis URL` (the command as an operator runs it): on each of the
 * five browser-runnable transports two pages join one room and hear each other, wherever
 * node:cluster handed their requests; every page stays on the one session it opened. The
 * htmlfile and xhr-multipart shims (test/browser/shims/, which stand in for IE's and old
 * Firefox's objects) are added to each page before its scripts run; everything else is the
 * command's own: the page, the client, every session request.
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportName } from '../../src/session/transport.js';
import { launchChromium } from '../helpers/browser.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { samples, startWorkers, type StartedWorkers } from '../helpers/workers.js';

const TRANSPORTS: readonly TransportName[] = ['htmlfile', 'xhr-multipart', 'xhr-polling', 'jsonp-polling', 'websocket'];
const TEST_TIMEOUT_MS = 60_000;
/** Pages tried for the second one of a test (each lands on either worker about half the time). */
const MAX_ATTEMPTS = 8;

let redis: RedisServer;
let workers: StartedWorkers;
let browser: Browser;
let store: Redis;
const pages: Page[] = [];
const SHIMS = ['htmlfile', 'xhr-multipart'].map((name) =>
  readFileSync(new URL(`../browser/shims/${name}.js`, import.meta.url), 'utf8'),
);

beforeAll(async () => {
  redis = await startRedisServer();
  [workers, browser] = await Promise.all([
    startWorkers({ redisUrl: redis.url, args: ['--heartbeat-interval-ms', '1000', '--poll-duration-ms', '2000'] }),
    launchChromium(),
  ]);
  store = new Redis(redis.url);
}, 120_000);
afterAll(async () => {
  store?.disconnect();
  await browser?.close();
  await workers?.stop();
  await redis?.stop();
}, 30_000);

/** A page of its own browser context (its own cookies: its own session) that joined `room`. */
async function join(nick: string, room: string, transport: TransportName): Promise<Page> {
  const context = await browser.newContext();
  for (const shim of SHIMS) await context.addInitScript({ content: shim });
  const page = await context.newPage();
  pages.push(page);
  // Not `load`: htmlfile's forever iframe, opened as the page starts, holds it back.
  await page.goto(`${workers.url}/?room=${room}&transport=${transport}`, { waitUntil: 'domcontentloaded' });
  await page.fill('#nick', nick);
  await page.click('#join button');
  await page.locator('#lines li.notice', { hasText: `you joined #${room} as ${nick}` }).waitFor({ timeout: 10_000 });
  return page;
}

/** The worker (cluster node) that owns the page's session, from its session cookie. */
async function ownerOf(page: Page): Promise<string | null> {
  const cookie = (await page.context().cookies()).find((each) => each.name.startsWith('sy.sid'));
  const sessionId = cookie?.value.split('.')[0];
  return sessionId === undefined ? null : store.hget(`sy:s:{${sessionId}}`, 'owner');
}

/**
 * A second page in `room` whose session is on another worker than `first`'s. Where a session
 * is made follows how a page's requests fall in the primary's turn (the number of a page's
 * connections varies with its polls); a request in between moves the turn. At most
 * MAX_ATTEMPTS pages.
 */
async function joinElsewhere(first: Page, room: string, transport: TransportName): Promise<[Page, string]> {
  const taken = await ownerOf(first);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const nick = `bob${attempt}`;
    const page = await join(nick, room, transport);
    const owner = await ownerOf(page);
    if (owner !== null && owner !== taken) return [page, nick];
    await page.context().close();
    await knock();
  }
  throw new Error(`no ${transport} session on another worker than the first page's in ${MAX_ATTEMPTS} pages`);
}

/** One request on a connection of its own: the primary's turn moves on by one. */
function knock(): Promise<void> {
  return new Promise((resolve, reject) => {
    get(`${workers.url}/healthz`, { agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.click('#say button');
}

/** Waits until the page shows `text` from `nick`. */
async function heard(page: Page, nick: string, text: string): Promise<void> {
  const line = page.locator('#lines li', { has: page.locator('.text', { hasText: text }) });
  await line.first().waitFor({ timeout: 10_000 });
  expect(await line.first().locator('.nick').textContent()).toBe(nick);
}

for (const transport of TRANSPORTS) {
  describe(`the chat over ${transport}, on two workers`, () => {
    it(
      'lets two pages on two workers, in one room, hear each other, each over that transport throughout',
      async () => {
        const room = `r-${transport}`;
        const alice = await join('alice', room, transport);
        const [bob, nick] = await joinElsewhere(alice, room, transport);
        await say(alice, `hello from alice over ${transport}`);
        await heard(bob, 'alice', `hello from alice over ${transport}`);
        await say(bob, `hello from ${nick} over ${transport}`);
        await heard(alice, nick, `hello from ${nick} over ${transport}`);
        for (const page of [alice, bob]) {
          expect(await page.locator('#status').textContent()).toBe(`connected over ${transport}`);
        }
      },
      TEST_TIMEOUT_MS,
    );
  });
}

describe('the sessions of those pages', () => {
  it('are counted by both workers in /metrics, per node', async () => {
    // Both workers hold some of them (each test put its two pages on two workers).
    await waitFor(
      async () => {
        const perNode = samples(await (await fetch(`${workers.url}/metrics`)).text(), 'switchyard_node_sessions');
        const counts = [...perNode.values()];
        return counts.length === 2 && counts.every((n) => n >= TRANSPORTS.length);
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the sessions over both workers' },
    );
  });
});
