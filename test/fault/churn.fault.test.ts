/**
 * 2,000 connections opened and dropped, three times: websocket sessions cut off abruptly or
 * closed politely, xhr-polling sessions whose held poll vanishes, and sac-sock sockets and
 * plain endpoint connections dropped either way after one message each. After each round every
 * session must leave the registry, and after the last the server's memory must be back near
 * its baseline (measured in this process after a full collection).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { rawConnect, rawRequest } from '../helpers/raw-http.js';
import { report } from '../helpers/report.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectAllClientsWork, installEchoes, PLAIN_ECHO_PATH } from '../helpers/well-behaved.js';
import { retainedBytes } from '../helpers/memory.js';

const WEBSOCKETS_PER_ROUND = 1_000;
const POLLS_PER_ROUND = 400;
/** sac-sock sockets and plain endpoint connections, each. */
const ENDPOINT_SOCKETS_PER_ROUND = 300;
const ROUNDS = 3;
const CONCURRENCY = 200;
/**
 * Growth of heap + array buffers allowed from the baseline (taken after a warm-up round):
 * V8's heap settles in steps of pages, so a few MB of slack; a leak of one session's state
 * (a Conn, its transport, a socket) per connection would show as tens of MB.
 */
const MEMORY_TOLERANCE_BYTES = 6 * 1024 * 1024;

/** Opens one websocket, waits for its first message (the 0.6 session id, an echo), then drops it. */
function websocketSession(url: string, abrupt: boolean, first?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, url.endsWith('/socket') ? 'sac-sock' : []);
    if (first !== undefined) ws.once('open', () => ws.send(first));
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('websocket session did not open in time'));
    }, 10_000);
    ws.once('message', () => {
      clearTimeout(timer);
      if (abrupt) ws.terminate();
      else ws.close();
      resolve();
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Opens an xhr-polling session, starts a held poll and vanishes in the middle of it. */
async function pollSession(port: number): Promise<void> {
  const request = Buffer.from(`GET /socket.io/xhr-polling//${Date.now()} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  const handshake = await rawRequest(port, request, 10_000);
  const sessionId = handshake.body.toString().slice(-16);
  const socket = await rawConnect(port);
  socket.on('error', () => undefined);
  socket.write(`GET /socket.io/xhr-polling/${sessionId}/${Date.now()} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await new Promise((resolve) => setTimeout(resolve, 5));
  socket.destroy();
}

async function inBatches(count: number, run: (index: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, count - start) }, (_, i) => run(start + i));
    await Promise.all(batch);
  }
}

describe('churn: 2,000 connections opened and dropped, three times', () => {
  let started: StartedServer;
  afterEach(() => started.close());

  it('leaves zero sessions and memory near its baseline', { timeout: 60_000 }, async () => {
    expect(globalThis.gc, 'vitest must run with --expose-gc').toBeTypeOf('function');
    started = await startServer(
      { reconnectWindowMs: 200, heartbeatIntervalMs: 0, pollDurationMs: 5_000 },
      installEchoes,
    );
    const port = Number(new URL(started.baseUrl).port);
    const wsUrl = `${started.wsUrl}/socket.io/websocket`;
    const sacSockUrl = `${started.wsUrl}/socket`;
    const plainUrl = `${started.wsUrl}${PLAIN_ECHO_PATH}`;
    const round = async () => {
      await Promise.all([
        inBatches(WEBSOCKETS_PER_ROUND, (i) => websocketSession(wsUrl, i % 2 === 0)),
        inBatches(POLLS_PER_ROUND, () => pollSession(port)),
        inBatches(ENDPOINT_SOCKETS_PER_ROUND, (i) => websocketSession(sacSockUrl, i % 2 === 0, 'echo\x02hi')),
        inBatches(ENDPOINT_SOCKETS_PER_ROUND, (i) => websocketSession(plainUrl, i % 2 === 0, 'hi')),
      ]);
      await waitFor(() => started.server.budget.total === 0, {
        timeoutMs: 10_000,
        what: 'no session or socket left',
      });
    };
    await inBatches(200, (i) => websocketSession(wsUrl, i % 2 === 0)); // warm-up: lazy allocations
    await waitFor(() => started.server.connectionCount === 0, { timeoutMs: 10_000, what: 'an empty registry' });
    const baseline = await retainedBytes();
    const growth: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const began = Date.now();
      await round();
      growth.push((await retainedBytes()) - baseline);
      report(`churn round ${i + 1}: ${Date.now() - began} ms, retained growth ${growth[i]} B`);
    }
    expect(started.server.connectionCount).toBe(0);
    expect(started.server.sacSock?.size).toBe(0);
    expect(growth[ROUNDS - 1]).toBeLessThan(MEMORY_TOLERANCE_BYTES);
    await expectAllClientsWork(started.baseUrl);
  });
});
