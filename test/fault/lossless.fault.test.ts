/**
 * Lossless delivery across forced transport drops: the server streams sequence-numbered
 * messages to one session while the test cuts every server-side TCP socket several times
 * (a network failure as the server sees it); the client comes back with the same session id
 * inside the reconnect window. Every message must arrive exactly once and in order.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DisconnectInfo } from '../../src/hub/results.js';
import { RECONNECTING_CLIENTS } from '../helpers/reconnecting-clients.js';
import { report } from '../helpers/report.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const MESSAGES = 400;
const DROPS = 4;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Padding, so a cut often finds frames still in the server's userland buffers (the hard case). */
const PAD = '.'.repeat(4_096);

/**
 * Heartbeats off, and every 5 ms (no deadline: these clients do not echo) so heartbeats are
 * interleaved with the messages and settled by the same sockets.
 */
const CASES = RECONNECTING_CLIENTS.flatMap((client) =>
  [0, 5].map((heartbeatIntervalMs) => ({ client, heartbeatIntervalMs })),
);

describe.each(CASES)(
  'lossless across forced drops: $client.name, heartbeat every $heartbeatIntervalMs ms',
  ({ client, heartbeatIntervalMs }) => {
    let started: StartedServer;
    afterEach(() => started.close());

    it(`delivers ${MESSAGES} sequence-numbered messages complete and in order across ${DROPS} drops`, async () => {
      const closes: DisconnectInfo[] = [];
      started = await startServer(
        {
          reconnectWindowMs: 2_000,
          heartbeatIntervalMs,
          heartbeatTimeoutMs: 0,
          pollDurationMs: 2_000,
          maxQueueMessages: 10_000,
        },
        (server) => server.onDisconnect((_conn, info) => closes.push(info)),
      );
      const sockets = new Set<Socket>();
      started.server.httpServer!.on('connection', (socket: Socket) => sockets.add(socket));
      let sessionId = '';
      let drops = 0;
      const received = client.receive(started.baseUrl, MESSAGES, 5_000, (id) => {
        sessionId = id;
      });
      await waitFor(() => sessionId !== '', { what: 'the session' });
      const conn = started.server.getConn(sessionId)!;
      // Phases of messages with a cut of every server-side socket between them, so each drop
      // lands mid-stream with frames in flight.
      const perPhase = MESSAGES / (DROPS + 1);
      let next = 1;
      for (let phase = 0; phase <= DROPS; phase++) {
        while (next <= perPhase * (phase + 1)) {
          for (let i = 0; i < 8 && next <= perPhase * (phase + 1); i++)
            expect(conn.send(`seq ${next++} ${PAD}`).ok).toBe(true);
          await pause(2);
        }
        if (phase < DROPS) {
          for (const socket of sockets) socket.destroy();
          sockets.clear();
          drops++;
        }
      }
      const texts = await received;
      report(`lossless ${client.name}: ${texts.length} received, ${drops} drops`);
      expect(drops).toBe(DROPS);
      const numbers = texts.map((text) => Number(text.split(' ')[1]));
      expect(numbers).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
      expect(texts.every((text) => text.endsWith(PAD))).toBe(true);
      expect(conn.isOpen).toBe(true);
      expect(closes).toEqual([]);
    });
  },
);
