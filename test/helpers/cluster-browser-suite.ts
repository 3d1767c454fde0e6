/**
 * The real 0.6 client in Chromium against a cluster, through HAProxy: the page, the client
 * script, the shims and every request of the session go through the balancer (one origin),
 * so each request may land on any node. One cluster and one browser per test file;
 * `describeClusterTransportInBrowser` runs per transport, on one page, the checks a client
 * must pass: echo (text, unicode, `~m~`, hostile text, JSON), a session kept across
 * heartbeats (or polls), and then a broadcast from one node to pages on every node.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportName } from '../../src/session/transport.js';
import { launchChromium } from './browser.js';
import { startCluster, type Cluster, type ClusterOptions } from './cluster.js';
import { nodeOfSession, requestLog, startBroadcasts, whoami } from './cluster-app.js';
import { expectTextEchoes, openLegacyPage, type LegacyPage, type LegacyPageOptions } from './legacy-page.js';
import { waitFor } from './wait-for.js';

const POLLING: readonly TransportName[] = ['xhr-polling', 'jsonp-polling'];

/** Short intervals, as the one-server browser suite uses; a timeout that a busy machine cannot trip. */
export const BROWSER_NODE_OPTIONS = {
  heartbeatIntervalMs: 200,
  heartbeatTimeoutMs: 5_000,
  pollDurationMs: 300,
  // A session the client left ends this long after (the disconnect test waits for it).
  reconnectWindowMs: 3_000,
} as const;

/** Nodes load in parallel on two busy cores, next to Chromium. */
const CLUSTER_START_TIMEOUT_MS = 120_000;
/** Pages tried per node before placement gives up. */
const MAX_PAGES_PER_NODE = 5;

/** A cluster and a browser for one test file (started in beforeAll, stopped in afterAll). */
export function useClusterAndBrowser(options: ClusterOptions): { cluster(): Cluster; browser(): Browser } {
  let cluster: Cluster | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    [cluster, browser] = await Promise.all([
      startCluster({ ...options, nodeOptions: { ...BROWSER_NODE_OPTIONS, ...options.nodeOptions } }),
      launchChromium(),
    ]);
  }, CLUSTER_START_TIMEOUT_MS);
  afterAll(async () => {
    await Promise.all([cluster?.stop(), browser?.close()]);
  });
  return {
    cluster: () => cluster ?? fail('no cluster'),
    browser: () => browser ?? fail('no browser'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * Opens pages (after `existing`) until every running node holds the session of one of them.
 * Page loads move the round-robin too (a websocket page makes three requests: with three
 * nodes every upgrade would land on the same one), so after a page whose session landed on
 * a node that already has one, one request through HAProxy shifts the rotation. At most
 * MAX_PAGES_PER_NODE pages per node.
 */
export async function openPagesOnEveryNode(
  browser: Browser,
  cluster: Cluster,
  transport: TransportName,
  { existing = [], ...options }: LegacyPageOptions & { existing?: readonly LegacyPage[] } = {},
): Promise<LegacyPage[]> {
  const running = cluster.nodes.filter((node) => node.isRunning).map((node) => node.name);
  const covered = new Set(await Promise.all(existing.map((page) => nodeOfSession(cluster, page.sessionId))));
  const pages: LegacyPage[] = [];
  for (let opened = 0; opened < running.length * MAX_PAGES_PER_NODE; opened++) {
    if (running.every((name) => covered.has(name))) return pages;
    const page = await openLegacyPage(browser, cluster.url, transport, options);
    pages.push(page);
    const node = await nodeOfSession(cluster, page.sessionId);
    // The other pages' own requests (polls, streams) move the rotation too: placement is not
    // deterministic on the streaming transports, hence up to MAX_PAGES_PER_NODE tries per node.
    if (covered.has(node)) await whoami(cluster.url);
    covered.add(node);
  }
  await Promise.all(pages.map((page) => page.close()));
  throw new Error(
    `could not place a ${transport} session on every node in ${running.length * MAX_PAGES_PER_NODE} pages`,
  );
}

/** Time for a test that opens pages one by one on two busy cores. */
const BROWSER_TEST_TIMEOUT_MS = 45_000;

export function describeClusterTransportInBrowser(
  transport: TransportName,
  context: { cluster(): Cluster; browser(): Browser },
): void {
  describe(`the 0.6.18 client in Chromium over ${transport}, through HAProxy`, () => {
    // One page for the checks of one client; more only where a check needs several.
    let page: LegacyPage;
    const pages: LegacyPage[] = [];
    beforeAll(async () => {
      page = await openLegacyPage(context.browser(), context.cluster().url, transport);
      pages.push(page);
    }, BROWSER_TEST_TIMEOUT_MS);
    afterAll(async () => {
      await Promise.all(pages.splice(0).map((each) => each.close()));
    });

    it('echoes text, unicode, ~m~, hostile text and JSON intact', async () => {
      await expectTextEchoes(page);
      await page.send({ nested: { list: [1, 'два', '😀'] } });
      await page.expectMessage({ nested: { list: [1, 'два', '😀'] } });
    });

    it(
      'keeps its session across several heartbeats (or empty polls)',
      async () => {
        if (POLLING.includes(transport)) {
          // No heartbeats on polling: four polls of this session, wherever they landed.
          const polls = async () =>
            (await requestLog(context.cluster())).filter((entry) => entry.url.includes(`/${page.sessionId}/`)).length;
          const before = await polls();
          await waitFor(async () => (await polls()) >= before + 4, { timeoutMs: 8_000, what: 'four polls' });
        } else {
          // Heartbeat n+1 is sent only once n was echoed, so the fourth proves three echoes.
          const before = (await page.heartbeats()).length;
          await waitFor(async () => (await page.heartbeats()).length >= before + 4, {
            timeoutMs: 8_000,
            what: 'heartbeats',
          });
        }
        expect(await page.events()).toEqual(['connect']);
        expect(await page.sessionIds()).toEqual([page.sessionId]);
        await page.send('after the wait');
        await page.expectMessage('after the wait');
      },
      BROWSER_TEST_TIMEOUT_MS,
    );

    it(
      'delivers broadcasts from one node to pages on every node',
      async () => {
        const cluster = context.cluster();
        pages.push(...(await openPagesOnEveryNode(context.browser(), cluster, transport, { existing: [page] })));
        const tag = `${transport}-${Date.now()}`;
        await startBroadcasts(cluster.nodes[0]!.url, { count: 3, tag });
        for (const each of pages) {
          for (const n of [1, 2, 3]) await each.expectMessage(`${tag}:${n}`);
        }
      },
      BROWSER_TEST_TIMEOUT_MS,
    );

    // 0.6's jsonp-polling does not stop on disconnect(): the poll script it leaves in the page
    // loads and starts a new handshake, which the session cookie rightly takes back to the same
    // session (the same browser, coming back). Its session cannot end that way.
    if (transport !== 'jsonp-polling') {
      it(
        'ends the session the client disconnected, on whichever node holds it, after the reconnect window',
        async () => {
          const cluster = context.cluster();
          const left = await openLegacyPage(context.browser(), cluster.url, transport);
          pages.push(left);
          expect(await nodeOfSession(cluster, left.sessionId)).toBeDefined();
          await left.disconnect();
          await waitFor(async () => (await nodeOfSession(cluster, left.sessionId)) === undefined, {
            timeoutMs: 15_000,
            what: 'the session to end',
          });
          expect(await left.events()).toEqual(['connect', 'disconnect']);
        },
        BROWSER_TEST_TIMEOUT_MS,
      );
    }
  });
}
