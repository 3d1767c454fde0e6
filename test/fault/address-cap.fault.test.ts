/**
 * `maxConnectionsPerAddress` on every family at once, and what `trustProxy` does to it: the
 * default cap (1 000) holds across 0.6 sessions, sac-sock sockets and plain connections
 * mixed, refusing the next one of any kind (xhr-polling, websocket, flashsocket/hixie-76,
 * sac-sock, plain) with 429 before any 101; behind a trusted proxy each forwarded address
 * has a cap of its own, and the same header from an untrusted peer changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientOptions } from 'ws';
import type { CreateServerOptions } from '../../src/server.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { rawRequest } from '../helpers/raw-http.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { installEchoes, PLAIN_ECHO_PATH } from '../helpers/well-behaved.js';

const UPGRADE =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const HIXIE =
  'Upgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n';

/** The request that would open one more connection of each kind, as raw HTTP. */
const PROBES: ReadonlyArray<{ name: string; head: (extra: string) => string }> = [
  { name: 'xhr-polling', head: (extra) => `GET /socket.io/xhr-polling//${Date.now()} HTTP/1.1\r\n${extra}` },
  { name: 'websocket', head: (extra) => `GET /socket.io/websocket HTTP/1.1\r\n${UPGRADE}${extra}` },
  { name: 'flashsocket (hixie-76)', head: (extra) => `GET /socket.io/flashsocket HTTP/1.1\r\n${HIXIE}${extra}` },
  {
    name: 'sac-sock',
    head: (extra) => `GET /socket HTTP/1.1\r\n${UPGRADE}Sec-WebSocket-Protocol: sac-sock\r\n${extra}`,
  },
  { name: 'plain endpoint', head: (extra) => `GET ${PLAIN_ECHO_PATH} HTTP/1.1\r\n${UPGRADE}${extra}` },
];

describe('maxConnectionsPerAddress over every family', () => {
  let started: StartedServer;
  let port: number;
  const held: Array<{ close(): void }> = [];

  async function start(options: CreateServerOptions = {}): Promise<void> {
    started = await startServer({ heartbeatIntervalMs: 0, ...options }, installEchoes);
    port = Number(new URL(started.baseUrl).port);
  }

  afterEach(async () => {
    for (const client of held.splice(0)) client.close();
    await started.close();
  });

  /** Opens one connection of a kind that stays (0.6 websocket, sac-sock, plain), from `forwardedFor`. */
  async function hold(kind: number, forwardedFor?: string): Promise<void> {
    const options: ClientOptions = forwardedFor === undefined ? {} : { headers: { 'X-Forwarded-For': forwardedFor } };
    if (kind % 3 === 0) {
      const client = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`, options);
      held.push({ close: () => client.ws.terminate() });
    } else if (kind % 3 === 1) {
      const client = await SacSockTestClient.connect(`${started.wsUrl}/socket`, 'sac-sock', options);
      held.push({ close: () => client.ws.terminate() });
    } else {
      const client = await PlainClient.connect(`${started.wsUrl}${PLAIN_ECHO_PATH}`, undefined, options);
      held.push({ close: () => client.ws.terminate() });
    }
  }

  /** Status and code each kind of new connection gets now; `extra(i)`: headers of the i-th probe. */
  async function probeAll(extra: (i: number) => string = () => ''): Promise<string[]> {
    const answers = await Promise.all(
      PROBES.map((probe, i) =>
        rawRequest(port, Buffer.from(probe.head(`Host: 127.0.0.1\r\n${extra(i)}`) + '\r\n'), 3_000),
      ),
    );
    return answers.map((answer, i) => {
      const code = answer.status === 429 ? (JSON.parse(answer.body.toString()) as { code: string }).code : '';
      return `${PROBES[i]!.name} ${answer.status} ${code}`.trim();
    });
  }

  it(
    'the default 1 000 is one budget for sessions, sac-sock sockets and plain connections',
    { timeout: 30_000 },
    async () => {
      // A dropped 0.6 session keeps its place for its reconnect window: keep that short.
      await start({ reconnectWindowMs: 200 });
      for (let i = 0; i < 1_000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => hold(i + j)));
      expect(started.server.budget.total).toBe(1_000);
      expect(await probeAll()).toEqual(PROBES.map((p) => `${p.name} 429 ERR_TOO_MANY_SESSIONS_FROM_ADDRESS`));
      held.pop()!.close();
      await waitFor(() => started.server.budget.total === 999, { what: 'one place given back' });
      await hold(1);
      expect(started.server.budget.total).toBe(1_000);
    },
  );

  it('behind a trusted proxy each forwarded address has its own cap, on every family', async () => {
    await start({ maxConnectionsPerAddress: 3, trustProxy: ['127.0.0.1'] });
    for (let kind = 0; kind < 3; kind++) await hold(kind, '203.0.113.1');
    const refused = PROBES.map((p) => `${p.name} 429 ERR_TOO_MANY_SESSIONS_FROM_ADDRESS`);
    expect(await probeAll(() => 'X-Forwarded-For: 203.0.113.1\r\n')).toEqual(refused);
    // Other clients behind the same proxy are not held back (one address per probe: each is
    // a connection of its own), and the proxy's own address has all its places.
    const accepted = PROBES.map((p, i) => `${p.name} ${i === 0 ? 200 : 101}`);
    expect(await probeAll((i) => `X-Forwarded-For: 198.51.100.${i + 1}\r\n`)).toEqual(accepted);
    for (let kind = 0; kind < 3; kind++) await hold(kind);
    expect(started.server.budget.total).toBeGreaterThanOrEqual(6);
  });

  it('from an untrusted peer X-Forwarded-For changes nothing: every connection counts as the peer', async () => {
    await start({ maxConnectionsPerAddress: 3 });
    for (let kind = 0; kind < 3; kind++) await hold(kind, `203.0.113.${kind + 1}`);
    expect(await probeAll(() => 'X-Forwarded-For: 198.51.100.7\r\n')).toEqual(
      PROBES.map((p) => `${p.name} 429 ERR_TOO_MANY_SESSIONS_FROM_ADDRESS`),
    );
  });
});
