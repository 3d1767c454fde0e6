import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocketConnection } from '../../src/endpoints/connection.js';
import { WebSocketEndpoint } from '../../src/endpoints/endpoint.js';
import type { WebSocketEndpointOptions } from '../../src/endpoints/options.js';
import type { Host } from '../../src/hub/host.js';
import type { Instruments } from '../../src/hub/instruments.js';
import { PreparedMessage } from '../../src/hub/prepared.js';
import { endpointPerTest, holdsFor, PlainClient, startEndpoint } from '../helpers/plain-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

describe('plain websocket endpoint: the onMessage fast path', () => {
  const endpoint = endpointPerTest();
  const pair = (options?: WebSocketEndpointOptions<unknown>) => endpoint.pair(options);

  it('hands each message, decoded, to the handler as it arrives; the echo comes back in order', async () => {
    const { client, conn } = await pair({ mode: 'json' });
    const seen: unknown[] = [];
    conn.onMessage((value) => {
      seen.push(value);
      return conn.send({ echo: value });
    });
    for (let i = 0; i < 20; i++) client.ws.send(JSON.stringify({ n: i }));
    await client.waitForMessages(20);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, n) => ({ n })));
    expect(client.texts().map((text) => JSON.parse(text) as unknown)).toEqual(seen.map((value) => ({ echo: value })));
    expect(conn.queuedMessages).toBe(0);
  });

  it('first hands over what was queued before it was set; onMessage(null) gives messages back to the iterator', async () => {
    const { client, conn } = await pair({ mode: 'text', recvBuffer: 100 });
    for (const text of ['a', 'b', 'c']) client.ws.send(text);
    await waitFor(() => conn.queuedMessages === 3, { what: 'three queued messages' });
    const seen: string[] = [];
    conn.onMessage((text) => {
      seen.push(text as string);
    });
    expect(seen).toEqual(['a', 'b', 'c']);
    client.ws.send('d');
    await waitFor(() => seen.length === 4, { what: 'the fourth message' });
    conn.onMessage(null);
    client.ws.send('e');
    expect(await conn.receiveText(10)).toBe('e');
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it("a handler's pending promises count against recvBuffer: reading pauses, and resumes as they settle", async () => {
    const { client, conn } = await pair({ mode: 'text', recvBuffer: 2, idleTimeoutMs: 0 });
    const pending: Array<() => void> = [];
    const seen: string[] = [];
    conn.onMessage((text) => {
      seen.push(text as string);
      return new Promise<void>((resolve) => pending.push(resolve));
    });
    client.ws.send('m0');
    client.ws.send('m1');
    await waitFor(() => conn.isReceivePaused, { what: 'reading paused' });
    // While paused, more messages stay in the network: the handler is not called.
    for (let i = 2; i < 10; i++) client.ws.send(`m${i}`);
    expect(await holdsFor(() => seen.length === 2, 200)).toBe(true);
    for (let round = 0; round < 20 && seen.length < 10; round++) {
      for (const resolve of pending.splice(0)) resolve();
      await waitFor(() => pending.length > 0 || seen.length === 10, { what: 'more messages' });
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    for (const resolve of pending.splice(0)) resolve();
    await waitFor(() => !conn.isReceivePaused, { what: 'reading resumed' });
  });

  it('a handler that throws or rejects is a server error; the connection and the next messages go on', async () => {
    const errors: Error[] = [];
    endpoint.started = await startEndpoint({ mode: 'text' }, undefined, (server) =>
      server.on('error', (error) => errors.push(error)),
    );
    const { client, conn } = await pair();
    const seen: string[] = [];
    conn.onMessage((text) => {
      seen.push(text as string);
      if (text === 'throw') throw new Error('sync bug');
      if (text === 'reject') return Promise.reject(new Error('async bug'));
      return undefined;
    });
    for (const text of ['throw', 'reject', 'fine']) client.ws.send(text);
    await waitFor(() => errors.length === 2 && seen.length === 3, { what: 'two reported errors' });
    expect(errors.map((error) => error.message).sort()).toEqual(['async bug', 'sync bug']);
    expect(conn.state).toBe('open');
    await conn.send('still here');
    await client.waitForMessages(1);
  });

  it("undecodable messages follow onInvalidMessage: 'error' reports and goes on, 'close' closes 1007", async () => {
    const { client, conn } = await pair({ mode: 'json', onInvalidMessage: 'error' });
    const seen: unknown[] = [];
    conn.onMessage((value) => {
      seen.push(value);
    });
    client.ws.send('{oops');
    client.ws.send('[1]');
    await waitFor(() => seen.length === 1, { what: 'the valid message' });
    const iterator = conn.errors[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ code: 'ERR_MALFORMED_FRAME' });
    expect(seen).toEqual([[1]]);

    await endpoint.started?.close();
    endpoint.started = undefined;
    const closing = await pair({ mode: 'json' });
    closing.conn.onMessage(() => undefined);
    closing.client.ws.send('{oops');
    expect(await closing.client.waitForClose()).toBe(1007);
    expect((await closing.conn.done).error?.code).toBe('ERR_MALFORMED_FRAME');
  });
});

/** An Instruments that records every call, by name. */
function recorder(): Instruments & { calls: Array<[string, ...unknown[]]> } {
  const calls: Array<[string, ...unknown[]]> = [];
  const record =
    (name: string) =>
    (...args: unknown[]): void => {
      calls.push([name, ...args]);
    };
  return {
    calls,
    opened: record('opened'),
    closed: record('closed'),
    received: record('received'),
    sent: record('sent'),
    lost: record('lost'),
    overflowed: record('overflowed'),
    fannedOut: record('fannedOut'),
  };
}

describe('plain websocket endpoint: instruments', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  it('reports opened, received, sent, overflowed and closed as family endpoint over websocket', async () => {
    const instruments = recorder();
    const conns: Array<WebSocketConnection<unknown>> = [];
    started = await startServer({}, (server) => {
      // The server's own Host, with the recorder plugged into its instrumentation seam.
      const host: Host = { ...(server as unknown as { host: Host }).host, instruments };
      const endpoint = new WebSocketEndpoint(
        '/counted',
        { mode: 'text', sendBuffer: 1, queueOverflow: 'refuse' },
        (conn) => {
          conns.push(conn);
          conn.onMessage((text) => conn.send(text));
        },
        host,
      );
      server.addUpgradeRoute(endpoint);
    });
    const client = await PlainClient.connect(`${started.wsUrl}/counted`);
    await waitFor(() => conns.length === 1, { what: 'the connection' });
    client.ws.send('one');
    client.ws.send('two');
    await client.waitForMessages(2);
    const conn = conns[0] as WebSocketConnection<unknown>;
    // A client that stops reading fills the socket, then the send buffer: the next delivery overflows.
    client.ws.pause();
    const big = new PreparedMessage('x'.repeat(256 * 1024));
    let refused = 0;
    for (let i = 0; i < 50 && refused === 0; i++) if (!conn.deliver(big).ok) refused++;
    expect(refused).toBe(1);
    // More than the socket and the network can hold: some is still queued when the client goes.
    for (let i = 0; i < 64; i++) void conn.send('y'.repeat(256 * 1024)).catch(() => undefined);
    client.ws.terminate();
    const info = await conn.done;
    expect(info.lostMessages).toBeGreaterThan(0);
    const names = instruments.calls.map(([name]) => name);
    expect(instruments.calls[0]).toEqual(['opened', 'endpoint', 'websocket']);
    expect(instruments.calls.filter(([name]) => name === 'received')).toEqual([
      ['received', 'endpoint', 1],
      ['received', 'endpoint', 1],
    ]);
    expect(names.filter((name) => name === 'sent').length).toBeGreaterThanOrEqual(3);
    expect(names).toContain('overflowed');
    expect(instruments.calls.find(([name]) => name === 'closed')).toEqual([
      'closed',
      'endpoint',
      'websocket',
      'dropped',
    ]);
    expect(instruments.calls.find(([name]) => name === 'lost')).toEqual([
      'lost',
      'endpoint',
      'dropped',
      info.lostMessages,
    ]);
  });
});
