/**
 * The draft websockets under load: 250 flashsocket (hixie-76, key3 and all) and 250 hixie-75
 * handshakes, 100 at a time, all 500 sessions held at once, 40 messages from each echoed in
 * order, heartbeats sent and answered on every one, one broadcast to all 500, then every
 * client drops its socket: every session ends, no place of the budget is left, and the other
 * transports are still served.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { HixieClient } from '../helpers/legacy-http.js';
import { watchProcessFailures } from '../helpers/process-failures.js';
import { report } from '../helpers/report.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectAllClientsWork, installEchoes } from '../helpers/well-behaved.js';

const PER_DRAFT = 250;
const MESSAGES = 40;
const HANDSHAKES_AT_ONCE = 100;

describe('hixie-76 (flashsocket) and hixie-75 under load', () => {
  let started: StartedServer;
  afterEach(() => started.close());

  it(
    'handshakes, echoes in order, a broadcast, and a clean end for 500 draft clients',
    { timeout: 60_000 },
    async () => {
      const failures = watchProcessFailures();
      started = await startServer(
        { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 8_000, reconnectWindowMs: 2_000 },
        installEchoes,
      );
      const began = Date.now();
      // 100 handshakes in flight at a time: a starved machine still answers each within the
      // client's 5 s, and the server holds all 500 at once afterwards.
      const clients: HixieClient[] = [];
      for (let batch = 0; batch < (PER_DRAFT * 2) / HANDSHAKES_AT_ONCE; batch++) {
        const connecting = Array.from({ length: HANDSHAKES_AT_ONCE }, (_, i) =>
          i % 2 === 0
            ? HixieClient.connect(started.baseUrl, '/socket.io/flashsocket', 76)
            : HixieClient.connect(started.baseUrl, '/socket.io/websocket', 75),
        );
        clients.push(...(await Promise.all(connecting)));
      }
      const handshakesMs = Date.now() - began;
      expect(started.server.connectionCount).toBe(PER_DRAFT * 2);
      expect(clients.filter((c) => c.draft === 76).every((c) => c.answer?.equals(HixieClient.expectedAnswer()))).toBe(
        true,
      );

      const sent = (i: number, n: number) => `c${i} m${n} é😀`;
      clients.forEach((client, i) => {
        for (let n = 0; n < MESSAGES; n++) void client.send(encodeFrame(sent(i, n)));
      });
      const texts = (client: HixieClient) => client.messages.flatMap((m) => (m.type === 'text' ? [m.data] : []));
      await waitFor(() => clients.every((client) => texts(client).length >= MESSAGES), {
        timeoutMs: 20_000,
        what: 'every echo',
      });
      clients.forEach((client, i) => {
        expect(texts(client)).toEqual(Array.from({ length: MESSAGES }, (_, n) => sent(i, n)));
      });

      expect(started.server.broadcast('to all drafts')).toEqual({ delivered: PER_DRAFT * 2, refused: 0 });
      await waitFor(() => clients.every((client) => texts(client).includes('to all drafts')), {
        timeoutMs: 10_000,
        what: 'the broadcast everywhere',
      });
      // Heartbeats run on every socket and are answered (the client echoes each): none times out.
      const beats = (client: HixieClient) => client.messages.filter((m) => m.type === 'heartbeat').length;
      await waitFor(() => clients.every((client) => beats(client) >= 3), {
        timeoutMs: 20_000,
        what: 'three heartbeats each',
      });
      expect(started.server.connectionCount).toBe(PER_DRAFT * 2);

      for (const client of clients) client.close();
      await waitFor(() => started.server.budget.total === 0, { timeoutMs: 10_000, what: 'every session to end' });
      report(`hixie load: ${PER_DRAFT * 2} handshakes in ${handshakesMs} ms, whole run ${Date.now() - began} ms`);
      await expectAllClientsWork(started.baseUrl);
      expect(failures.list()).toEqual([]);
      failures.stop();
    },
  );
});
