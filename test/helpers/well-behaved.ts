/**
 * "Well-behaved client" checks, one per transport or endpoint: each opens a session against a
 * server set up by `installEchoes` (0.6 messages echoed, the sac-sock event `echo` echoed, a
 * plain text endpoint at `PLAIN_ECHO_PATH` that echoes), sends one message and waits for the
 * echo, within `timeoutMs`. The fuzz and fault suites run every entry after their abuse to
 * show the server still serves everyone. A new transport or endpoint adds one entry.
 */
import { encodeFrame } from '../../src/codecs/sio.js';
import type { Switchyard } from '../../src/server.js';
import { HixieClient, JsonpClient, StreamClient, type LegacyClient } from './legacy-http.js';
import { LegacyWsClient } from './legacy-ws.js';
import { PlainClient } from './plain-ws.js';
import { SacSockTestClient } from './sac-sock-client.js';
import { waitFor } from './wait-for.js';

export interface WellBehavedClient {
  readonly name: string;
  /** Resolves once an echo came back; rejects (or times out) otherwise. */
  check(baseUrl: string, timeoutMs?: number): Promise<void>;
}

/** Path of the plain RFC 6455 echo endpoint that `installEchoes` mounts. */
export const PLAIN_ECHO_PATH = '/plain-echo';

/**
 * What the checks need from the server: an echo on every protocol. Tests that install
 * failing handlers of their own add these first, so the echoes still answer.
 */
export function installEchoes(server: Switchyard): void {
  server.onMessage((conn, data) => conn.send(data));
  installEndpointEchoes(server);
}

/** The sac-sock and plain-endpoint echoes alone, for tests with a 0.6 message handler of their own. */
export function installEndpointEchoes(server: Switchyard): void {
  server.onEvent('echo', (socket, data) => {
    socket.emit('echo', data.toString('utf8'));
  });
  server.websocket<string>(PLAIN_ECHO_PATH, { mode: 'text', pingIntervalMs: 0 }, async (conn) => {
    for await (const text of conn.messages) await conn.send(text);
  });
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' };
const probe = () => `ping ${Math.random()} é 😀 </script> \u2028`;

async function websocketEcho(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  const client = await LegacyWsClient.connect(`${baseUrl.replace(/^http/, 'ws')}/socket.io/websocket`);
  try {
    const text = probe();
    client.send(encodeFrame(text));
    const echo = await client.nextMessage((m) => m.type === 'text', timeoutMs);
    if (echo.data !== text) throw new Error(`websocket echo mismatch: ${JSON.stringify(echo.data)}`);
  } finally {
    client.ws.terminate();
  }
}

async function xhrPollingEcho(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  const base = `${baseUrl}/socket.io/xhr-polling`;
  const handshake = await (await fetch(`${base}//${Date.now()}`, { signal })).text();
  const sessionId = /^~m~16~m~([0-9A-Za-z]{16})$/.exec(handshake)?.[1];
  if (sessionId === undefined) throw new Error(`xhr-polling handshake: ${handshake.slice(0, 80)}`);
  const poll = fetch(`${base}/${sessionId}/${Date.now()}`, { signal }).then((res) => res.text());
  const text = probe();
  const sent = await fetch(`${base}/${sessionId}/send`, {
    method: 'POST',
    headers: FORM,
    body: 'data=' + encodeURIComponent(encodeFrame(text)),
    signal,
  });
  if (sent.status !== 200) throw new Error(`xhr-polling send answered ${sent.status}`);
  const answer = await poll;
  if (answer !== encodeFrame(text)) throw new Error(`xhr-polling echo mismatch: ${answer.slice(0, 80)}`);
}

/** An echo through one of the raw 0.6 clients of `legacy-http.ts`; the client is closed after. */
async function legacyEcho(name: string, client: LegacyClient, timeoutMs: number): Promise<void> {
  try {
    await waitFor(() => client.sessionId !== '', { timeoutMs, what: `the ${name} session` });
    const text = probe();
    const status = await client.send(encodeFrame(text));
    if (status !== 200 && status !== 0) throw new Error(`${name} send answered ${status}`);
    await waitFor(() => client.messages.some((m) => m.type === 'text' && m.data === text), {
      timeoutMs,
      what: `the ${name} echo`,
    });
  } finally {
    client.close();
  }
}

const streamEcho =
  (transport: 'htmlfile' | 'xhr-multipart') =>
  async (baseUrl: string, timeoutMs = 5_000) =>
    legacyEcho(transport, await StreamClient.open(baseUrl, transport), timeoutMs);

async function jsonpEcho(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  await legacyEcho('jsonp-polling', JsonpClient.start(baseUrl, 7), timeoutMs);
}

async function flashsocketEcho(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  await legacyEcho('flashsocket', await HixieClient.connect(baseUrl, '/socket.io/flashsocket', 76), timeoutMs);
}

async function hixie75Echo(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  await legacyEcho('websocket (hixie-75)', await HixieClient.connect(baseUrl, '/socket.io/websocket', 75), timeoutMs);
}

async function sacSockEcho(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  const client = await SacSockTestClient.connect(`${baseUrl.replace(/^http/, 'ws')}/socket`);
  try {
    const text = probe();
    client.emit('echo', text);
    const frame = await client.next('echo', timeoutMs);
    if (frame.payload.toString('utf8') !== text) throw new Error(`sac-sock echo mismatch: ${frame.payload.toString()}`);
  } finally {
    client.ws.terminate();
  }
}

async function plainEcho(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  const client = await PlainClient.connect(`${baseUrl.replace(/^http/, 'ws')}${PLAIN_ECHO_PATH}`);
  try {
    const text = probe();
    client.ws.send(text);
    await client.waitForMessages(1, timeoutMs);
    if (client.texts()[0] !== text) throw new Error(`plain echo mismatch: ${client.texts()[0]}`);
  } finally {
    client.ws.terminate();
  }
}

/** Every transport and endpoint of this build. */
export const WELL_BEHAVED_CLIENTS: readonly WellBehavedClient[] = [
  { name: 'websocket', check: websocketEcho },
  { name: 'websocket (hixie-75)', check: hixie75Echo },
  { name: 'flashsocket (hixie-76)', check: flashsocketEcho },
  { name: 'htmlfile', check: streamEcho('htmlfile') },
  { name: 'xhr-multipart', check: streamEcho('xhr-multipart') },
  { name: 'xhr-polling', check: xhrPollingEcho },
  { name: 'jsonp-polling', check: jsonpEcho },
  { name: 'sac-sock', check: sacSockEcho },
  { name: 'plain websocket endpoint', check: plainEcho },
];

/** Runs every check; rejects naming the ones that failed. */
export async function expectAllClientsWork(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  const results = await Promise.allSettled(WELL_BEHAVED_CLIENTS.map((client) => client.check(baseUrl, timeoutMs)));
  const failed = results.flatMap((result, i) =>
    result.status === 'rejected' ? [`${WELL_BEHAVED_CLIENTS[i]!.name}: ${String(result.reason)}`] : [],
  );
  if (failed.length > 0) throw new Error(`well-behaved clients failed after the abuse:\n${failed.join('\n')}`);
}
