/**
 * One visit per transport for the churn runs: connect, join a room, send a probe and wait for
 * its echo, wait for one fan-out message (a room tick or a broadcast), then leave — politely
 * or by dropping the socket, alternately. Built on the raw clients of test/helpers; unlike the
 * well-behaved checks they expect fan-out traffic around their echo. Every wait is bounded.
 */
import { encodeFrame } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { HixieClient, JsonpClient, StreamClient, type LegacyClient } from '../helpers/legacy-http.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { SacSockTestClient, splitServerFrame } from '../helpers/sac-sock-client.js';
import { waitFor } from '../helpers/wait-for.js';

/** Rooms the visitors spread over; the churn's ticker sends to each. */
export const SOAK_ROOMS = 4;
/** The plain endpoint of the soak server: joins a room, echoes text. */
export const SOAK_PLAIN_PATH = '/soak-plain';
const WAIT_MS = 10_000;

export type Visit = (baseUrl: string, n: number) => Promise<void>;

const roomOf = (n: number) => `room-${n % SOAK_ROOMS}`;
const probeOf = (n: number) => `probe ${n} é😀`;
const joinFrame = (n: number) => encodeFrame('~j~' + JSON.stringify({ event: 'join', data: roomOf(n) }));
const isFanOut = (m: InboundMessage) => m.type === 'json';
const isProbe = (n: number) => (m: InboundMessage) => m.type === 'text' && m.data === probeOf(n);

async function until(predicate: () => boolean, what: string): Promise<void> {
  await waitFor(predicate, { timeoutMs: WAIT_MS, intervalMs: 20, what });
}

/** The raw 0.6 clients of legacy-http.ts (streams, JSONP, hixie): they all record `messages`. */
async function legacyVisit(client: LegacyClient, n: number): Promise<void> {
  let sent = 0;
  try {
    await until(() => client.sessionId !== '', 'the session');
    sent = await client.send(joinFrame(n) + encodeFrame(probeOf(n)));
    await until(() => client.messages.some(isProbe(n)) && client.messages.some(isFanOut), 'echo and fan-out');
  } catch (error) {
    // Say what was missing: the send's status, the echo, the fan-out, the end of the client.
    const has = (p: (m: InboundMessage) => boolean) => client.messages.some(p);
    const statuses = client instanceof JsonpClient ? ` polls ${client.statuses.slice(-3).join(',')}` : '';
    throw new Error(
      `${String(error)} (send ${sent}, echo ${has(isProbe(n))}, fan-out ${has(isFanOut)}, ended ${client.isEnded}${statuses})`,
    );
  } finally {
    client.close();
  }
}

async function websocketVisit(baseUrl: string, n: number): Promise<void> {
  const client = await LegacyWsClient.connect(`${baseUrl.replace(/^http/, 'ws')}/socket.io/websocket`);
  try {
    client.send(joinFrame(n) + encodeFrame(probeOf(n)));
    await until(() => client.messages.some(isProbe(n)) && client.messages.some(isFanOut), 'echo and fan-out');
  } finally {
    if (n % 2 === 0) client.ws.close();
    else client.ws.terminate();
  }
}

async function xhrPollingVisit(baseUrl: string, n: number): Promise<void> {
  const client = (await LegacyPollClient.connect(baseUrl)).start();
  try {
    await client.send('~j~' + JSON.stringify({ event: 'join', data: roomOf(n) }));
    await client.send(probeOf(n));
    await until(() => client.messages.some(isProbe(n)) && client.messages.some(isFanOut), 'echo and fan-out');
  } finally {
    // The held poll ends by itself; the session then waits out its reconnect window.
    void client.stop();
  }
}

async function sacSockVisit(baseUrl: string, n: number): Promise<void> {
  const client = await SacSockTestClient.connect(`${baseUrl.replace(/^http/, 'ws')}/socket`);
  const events = () => client.frames.map((frame) => splitServerFrame(frame));
  try {
    client.emit('join', roomOf(n));
    client.emit('echo', probeOf(n));
    await until(
      () =>
        events().some((f) => f.event === 'echo' && f.payload.toString() === probeOf(n)) &&
        events().some((f) => f.event !== 'echo'),
      'echo and fan-out',
    );
  } finally {
    if (n % 2 === 0) client.close();
    else client.ws.terminate();
  }
}

async function plainVisit(baseUrl: string, n: number): Promise<void> {
  const client = await PlainClient.connect(`${baseUrl.replace(/^http/, 'ws')}${SOAK_PLAIN_PATH}`);
  try {
    client.ws.send(probeOf(n));
    await until(
      () => client.texts().includes(probeOf(n)) && client.texts().some((text) => text !== probeOf(n)),
      'echo and fan-out',
    );
  } finally {
    if (n % 2 === 0) client.ws.close();
    else client.ws.terminate();
  }
}

/** Every transport and endpoint, with how many visits of it run at once in a wave. */
export const VISITS: ReadonlyArray<{ name: string; concurrency: number; visit: Visit }> = [
  { name: 'websocket', concurrency: 40, visit: websocketVisit },
  { name: 'xhr-polling', concurrency: 10, visit: xhrPollingVisit },
  { name: 'jsonp-polling', concurrency: 6, visit: async (url, n) => legacyVisit(JsonpClient.start(url, n % 10), n) },
  {
    name: 'htmlfile',
    concurrency: 6,
    visit: async (url, n) => legacyVisit(await StreamClient.open(url, 'htmlfile'), n),
  },
  {
    name: 'xhr-multipart',
    concurrency: 6,
    visit: async (url, n) => legacyVisit(await StreamClient.open(url, 'xhr-multipart'), n),
  },
  {
    name: 'flashsocket (hixie-76)',
    concurrency: 10,
    visit: async (url, n) => legacyVisit(await HixieClient.connect(url, '/socket.io/flashsocket', 76), n),
  },
  { name: 'sac-sock', concurrency: 30, visit: sacSockVisit },
  { name: 'plain endpoint', concurrency: 30, visit: plainVisit },
];
