/**
 * Nothing lost silently across a graceful shutdown, on every 0.6 transport: sequence-numbered
 * messages are queued and the server closes at once. Each client
 * receives a prefix of the sequence, in order, and the session's disconnect accounts for the
 * rest (`lostMessages` + `unsettledMessages`, reason `shutdown`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../../src/codecs/types.js';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { HixieClient, JsonpClient, StreamClient } from '../helpers/legacy-http.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

interface ShutdownClient {
  readonly name: string;
  /** Opens a session; `messages` fills as payloads arrive. */
  open(baseUrl: string): Promise<{ sessionId: string; messages: InboundMessage[]; close(): void }>;
}

const SHUTDOWN_CLIENTS: readonly ShutdownClient[] = [
  {
    name: 'websocket',
    open: async (baseUrl) => {
      const client = await LegacyWsClient.connect(`${baseUrl.replace(/^http/, 'ws')}/socket.io/websocket`);
      client.ws.on('error', () => undefined);
      return { sessionId: client.sessionId, messages: client.messages, close: () => client.ws.terminate() };
    },
  },
  ...([75, 76] as const).map((draft) => ({
    name: draft === 75 ? 'websocket (hixie-75)' : 'flashsocket (hixie-76)',
    open: async (baseUrl: string) => {
      const path = draft === 75 ? '/socket.io/websocket' : '/socket.io/flashsocket';
      const client = await HixieClient.connect(baseUrl, path, draft);
      return { sessionId: client.sessionId, messages: client.messages, close: () => client.close() };
    },
  })),
  ...(['htmlfile', 'xhr-multipart'] as const).map((transport) => ({
    name: transport,
    open: async (baseUrl: string) => {
      const client = await StreamClient.open(baseUrl, transport);
      await client.waitForSession();
      return { sessionId: client.sessionId, messages: client.messages, close: () => client.close() };
    },
  })),
  {
    name: 'xhr-polling',
    open: async (baseUrl) => {
      const client = (await LegacyPollClient.connect(baseUrl)).start();
      return { sessionId: client.sessionId, messages: client.messages, close: () => void client.stop() };
    },
  },
  {
    name: 'jsonp-polling',
    open: async (baseUrl) => {
      const client = JsonpClient.start(baseUrl, 5);
      await client.waitForSession();
      return { sessionId: client.sessionId, messages: client.messages, close: () => client.close() };
    },
  },
];

const MESSAGES = 200;
const PAD = '.'.repeat(1_024);

describe.each(SHUTDOWN_CLIENTS)('graceful shutdown accounts for every message: $name', (client) => {
  let started: StartedServer;
  afterEach(() => started.close());

  it(`delivers a prefix of ${MESSAGES} messages in order and reports the rest`, async () => {
    const closes: DisconnectInfo[] = [];
    started = await startServer(
      { heartbeatIntervalMs: 0, drainTimeoutMs: 1_000, pollDurationMs: 500, maxQueueMessages: 10_000 },
      (server) => server.onDisconnect((_conn, info) => closes.push(info)),
    );
    const session = await client.open(started.baseUrl);
    const conn = started.server.getConn(session.sessionId)!;
    for (let i = 1; i <= MESSAGES; i++) expect(conn.send(`seq ${i} ${PAD}`).ok).toBe(true);
    await started.close();
    await waitFor(() => closes.length === 1, { what: 'the disconnect' });
    const info = closes[0]!;
    expect(info.reason).toBe('shutdown');
    const numbers = () => session.messages.flatMap((m) => (m.type === 'text' ? [Number(m.data.split(' ')[1])] : []));
    // Frames still on their way to the client count once read; the rest are in the counts.
    const accounted = () => numbers().length + info.lostMessages + (info.unsettledMessages ?? 0);
    await waitFor(() => accounted() >= MESSAGES, { what: 'every message delivered or counted' });
    expect(numbers()).toEqual(Array.from({ length: numbers().length }, (_, i) => i + 1));
    session.close();
  });
});
