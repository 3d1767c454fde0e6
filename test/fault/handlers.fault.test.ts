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
import { expectAllClientsWork, installEchoes, installEndpointEchoes } from '../helpers/well-behaved.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';

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

  it('sac-sock: event handlers that throw or reject on every frame, failing connect and disconnect listeners', async () => {
    failures = watchProcessFailures();
    const errors: string[] = [];
    // Short polls and window: the well-behaved clients' 0.6 sessions end soon after them (a window
    // long enough for the polling client's poll to follow its handshake on a loaded machine).
    started = await startServer({ reconnectWindowMs: 1_000, pollDurationMs: 500 }, (server) => {
      installEchoes(server);
      server.onEvent('boom', () => {
        throw new Error('sac-sock handler broke');
      });
      server.onEvent('boom-async', async () => {
        await Promise.resolve();
        throw new Error('sac-sock handler rejected');
      });
      server.onSocketConnect(() => {
        throw new Error('socket connect listener broke');
      });
      server.onSocketDisconnect(async () => {
        await Promise.resolve();
        throw new Error('socket disconnect listener rejected');
      });
      server.on('error', (error) => errors.push(error.message));
    });
    const url = `${started.wsUrl}/socket`;
    const [a, b] = await Promise.all([SacSockTestClient.connect(url), SacSockTestClient.connect(url)]);
    for (let i = 0; i < 20; i++) {
      a.emit('boom', `m${i}`);
      a.emit('boom-async', `m${i}`);
    }
    // The failing socket still has its later frames dispatched, and the other is untouched.
    a.emit('echo', 'after the throws');
    b.emit('echo', 'untouched');
    expect((await a.next('echo')).payload.toString()).toBe('after the throws');
    expect((await b.next('echo')).payload.toString()).toBe('untouched');
    const count = (message: string) => errors.filter((m) => m === message).length;
    await waitFor(() => count('sac-sock handler rejected') === 20, { what: 'every rejection reported' });
    expect(count('sac-sock handler broke')).toBe(20);
    expect(count('socket connect listener broke')).toBe(2);
    a.close();
    await waitFor(() => count('socket disconnect listener rejected') === 1, { what: 'the disconnect failure' });
    expect(started.server.sacSock?.size).toBe(1);
    await expectAllClientsWork(started.baseUrl);
    b.close();
    await waitFor(() => started.server.budget.total === 0, { what: 'every socket released' });
    expect(failures.list()).toEqual([]);
  });

  it('plain endpoint: handlers that throw or reject are reported; their connections stay usable', async () => {
    failures = watchProcessFailures();
    const errors: string[] = [];
    let opened = 0;
    // Short polls and window: the well-behaved clients' 0.6 sessions end soon after them (a window
    // long enough for the polling client's poll to follow its handshake on a loaded machine).
    started = await startServer({ reconnectWindowMs: 1_000, pollDurationMs: 500 }, (server) => {
      installEchoes(server);
      server.websocket<string>('/fragile', { mode: 'text', pingIntervalMs: 0 }, async (conn) => {
        // Odd connections throw at once, even ones reject on their first message.
        if (++opened % 2 === 1) throw new Error('plain handler broke');
        for await (const text of conn.messages) throw new Error(`plain handler rejected on ${text}`);
      });
      server.on('error', (error) => errors.push(error.message));
    });
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => PlainClient.connect(`${started.wsUrl}/fragile`)),
    );
    for (const client of clients) client.ws.send('hello');
    await waitFor(() => errors.length === 10, { what: 'every handler failure reported' });
    expect(errors.filter((m) => m === 'plain handler broke')).toHaveLength(5);
    expect(errors.filter((m) => m === 'plain handler rejected on hello')).toHaveLength(5);
    // As documented: a failed handler does not end its connection (the application may still use it).
    expect(clients.every((client) => client.closeCode === undefined)).toBe(true);
    await expectAllClientsWork(started.baseUrl);
    for (const client of clients) client.ws.close();
    await waitFor(() => started.server.budget.total === 0, { what: 'every connection released' });
    expect(failures.list()).toEqual([]);
  });
});
