/**
 * Application handlers that fail: a sync handler that throws on every message, an async one
 * that rejects, a throwing `error` listener, throwing connect and disconnect handlers. None
 * may crash the server or touch another session; each failure is logged with the session id
 * redacted and emitted as an `error` event naming the session.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import type { Conn } from '../../src/session/conn.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { watchProcessFailures } from '../helpers/process-failures.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectAllClientsWork, installEndpointEchoes } from '../helpers/well-behaved.js';

/** pino writes one JSON line per entry; keep them all. */
function captureLogs(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      callback();
    },
  });
  return { lines, stream };
}

describe('failing application handlers', () => {
  let started: StartedServer;
  let failures: ReturnType<typeof watchProcessFailures>;
  afterEach(async () => {
    await started.close();
    failures.stop();
  });

  it('survives a handler that throws on every message, a rejecting one and a throwing error listener', async () => {
    failures = watchProcessFailures();
    const logs = captureLogs();
    const errors: { error: Error; conn: Conn | undefined }[] = [];
    const sessionErrors: string[] = [];
    started = await startServer(
      { reconnectWindowMs: 1_000, logger: { level: 'info', stream: logs.stream } },
      (server) => {
        installEndpointEchoes(server);
        server.onConnect((conn) => {
          conn.on('message', async () => {
            await Promise.resolve();
            throw new Error('session listener rejected');
          });
          conn.on('disconnect', () => {
            throw new Error('session disconnect listener broke');
          });
          conn.on('error', (error) => sessionErrors.push(error.message));
          throw new Error('connect handler broke');
        });
        server.onMessage((conn, data) => {
          if (typeof data === 'string' && !/^m\d+$/.test(data)) conn.send(data);
          throw new Error('sync handler broke');
        });
        server.on('message', async () => {
          await Promise.resolve();
          throw new Error('async handler broke');
        });
        server.onDisconnect(() => {
          throw 'disconnect handler threw a string';
        });
        server.on('error', (error, conn) => {
          errors.push({ error, conn });
          throw new Error('the error listener broke too');
        });
        // An async error listener that rejects must not loop (Node gives 'error' no rejection catch).
        server.on('error', async () => {
          await Promise.resolve();
          throw new Error('the async error listener broke');
        });
      },
    );
    const a = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    const b = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    for (let i = 0; i < 20; i++) a.send(encodeFrame(`m${i}`));
    a.send(encodeFrame('echo-me'));
    b.send(encodeFrame('echo-me'));
    // Each session keeps working: its echo comes back despite the throws around it.
    expect(await a.nextMessage()).toEqual({ type: 'text', data: 'echo-me' });
    expect(await b.nextMessage()).toEqual({ type: 'text', data: 'echo-me' });
    await waitFor(() => errors.filter((e) => e.error.message === 'async handler broke').length === 22, {
      what: 'every async rejection reported',
    });
    expect(errors.filter((e) => e.error.message === 'sync handler broke')).toHaveLength(22);
    expect(errors.filter((e) => e.error.message === 'connect handler broke')).toHaveLength(2);
    await waitFor(() => errors.filter((e) => e.error.message.includes('session listener rejected')).length === 22, {
      what: "every rejection of a session's own listener reported",
    });
    // Every report names the session it came from.
    expect(errors.every((e) => e.conn?.sessionId === a.sessionId || e.conn?.sessionId === b.sessionId)).toBe(true);
    expect(started.server.connectionCount).toBe(2);
    // The session's own 'error' listeners hear of its failures too.
    expect(sessionErrors.filter((message) => message === 'sync handler broke')).toHaveLength(22);
    a.close();
    await waitFor(() => errors.some((e) => e.error.message.includes('disconnect handler threw a string')), {
      what: 'the disconnect handler failure',
    });
    await waitFor(() => errors.some((e) => e.error.message.includes('session disconnect listener broke')), {
      what: "the session's own disconnect listener failure",
    });
    const disconnectFailure = errors.find((e) => e.error.message.includes('disconnect handler threw'))!;
    expect((disconnectFailure.error as { code?: string }).code).toBe('ERR_HANDLER_FAILED');
    await expectAllClientsWork(started.baseUrl);
    b.close();
    // A client's bad input closes its session but is no error of the server's: not logged at info or above.
    const c = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    c.send('not a frame');
    await waitFor(() => c.closeCode !== undefined, { what: 'the protocol-error close' });
    expect(c.closeCode).toBe(1007);
    expect(errors.some((e) => (e.error as { code?: string }).code === 'ERR_MALFORMED_FRAME')).toBe(true);
    expect(logs.lines.filter((line) => line.includes('ERR_MALFORMED_FRAME'))).toEqual([]);
    // Logged at error level with the redacted id; the full id never appears in any line.
    const logged = logs.lines.filter((line) => line.includes('sync handler broke'));
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]).toContain(`"sessionId":"${a.sessionId.slice(0, 4)}…"`);
    for (const line of logs.lines) {
      expect(line).not.toContain(a.sessionId);
      expect(line).not.toContain(b.sessionId);
    }
    expect(failures.list()).toEqual([]);
  });
});
