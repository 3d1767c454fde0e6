/**
 * "Well-behaved client" checks, one per transport or endpoint: each opens a session against a
 * server whose message handler echoes (`conn.send(data)`), sends one message and waits for
 * the echo, within `timeoutMs`. The fuzz and fault suites run every entry after their abuse
 * to show the server still serves everyone. A new transport or endpoint adds one entry.
 */
import { encodeFrame } from '../../src/codecs/sio.js';
import { LegacyWsClient } from './legacy-ws.js';

export interface WellBehavedClient {
  readonly name: string;
  /** Resolves once an echo came back; rejects (or times out) otherwise. */
  check(baseUrl: string, timeoutMs?: number): Promise<void>;
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' };

async function websocketEcho(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  const client = await LegacyWsClient.connect(`${baseUrl.replace(/^http/, 'ws')}/socket.io/websocket`);
  try {
    const text = `ping ${Math.random()} 😀`;
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
  const text = `ping ${Math.random()} é`;
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

/** Every transport and endpoint of this build. */
export const WELL_BEHAVED_CLIENTS: readonly WellBehavedClient[] = [
  { name: 'websocket', check: websocketEcho },
  { name: 'xhr-polling', check: xhrPollingEcho },
];

/** Runs every check; rejects naming the ones that failed. */
export async function expectAllClientsWork(baseUrl: string, timeoutMs = 5_000): Promise<void> {
  const results = await Promise.allSettled(WELL_BEHAVED_CLIENTS.map((client) => client.check(baseUrl, timeoutMs)));
  const failed = results.flatMap((result, i) =>
    result.status === 'rejected' ? [`${WELL_BEHAVED_CLIENTS[i]!.name}: ${String(result.reason)}`] : [],
  );
  if (failed.length > 0) throw new Error(`well-behaved clients failed after the abuse:\n${failed.join('\n')}`);
}
