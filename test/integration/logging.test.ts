/**
 * Session ids are bearer credentials: no log line at info level may carry one in full,
 * fastify's own request logs included (the URL of every poll and send holds the id).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { redactLegacyUrl } from '../../src/http/router.js';
import { LegacyPollClient } from '../helpers/legacy-poll.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

describe('logging', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  it('redacts the session id segment of legacy URLs', () => {
    expect(redactLegacyUrl('socket.io', '/socket.io/xhr-polling/Ab3dE5gH7jK9mN1p/123')).toBe(
      '/socket.io/xhr-polling/Ab3d…/123',
    );
    expect(redactLegacyUrl('socket.io', '/socket.io/xhr-polling//123')).toBe('/socket.io/xhr-polling//123');
    expect(redactLegacyUrl('socket.io', '/elsewhere/Ab3dE5gH7jK9mN1p')).toBe('/elsewhere/Ab3dE5gH7jK9mN1p');
  });

  it('never writes a full session id into request logs (debug)', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    started = await startServer({ pollDurationMs: 300, logger: { level: 'debug', stream } }, (server) =>
      server.onMessage((conn, data) => conn.send(data)),
    );
    const client = await LegacyPollClient.connect(started.baseUrl);
    client.start();
    await client.send('hello');
    expect(await client.nextMessage()).toEqual({ type: 'text', data: 'hello' });
    await waitFor(() => lines.some((line) => line.includes('/send')), { what: 'the request log of the send' });
    expect(lines.some((line) => line.includes(`${client.sessionId.slice(0, 4)}…`))).toBe(true);
    expect(lines.filter((line) => line.includes(client.sessionId))).toEqual([]);
    await client.stop();
  });
});
