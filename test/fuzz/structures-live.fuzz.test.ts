/**
 * The structure-aware inputs of `structures.fuzz.test.ts`, a share of them through live
 * sockets: 0.6 websocket messages, xhr-polling and jsonp-polling POSTs, sac-sock frames,
 * plain-endpoint JSON messages, and ssredis envelopes published on a real Redis. Every answer
 * is documented (200, 400, 404, 413; close 1007 / 1009), never a 5xx; no unhandled rejection
 * or uncaught exception; handlers see plain data; no built-in prototype changes; afterwards
 * every well-behaved client is still served.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAdapter } from '../../src/adapters/redis/adapter.js';
import { channelNames } from '../../src/adapters/redis/envelope.js';
import { encodeFrame } from '../../src/codecs/sio.js';
import { ERROR_CODES } from '../../src/errors.js';
import {
  fuzzParameters,
  guardPrototypes,
  isPlainData,
  plainJsonMessage,
  redisEnvelope,
  sacSockFrame,
  sioPayload,
} from '../helpers/fuzz.js';
import { JsonpClient } from '../helpers/legacy-http.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { watchProcessFailures } from '../helpers/process-failures.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { expectAllClientsWork, installEchoes } from '../helpers/well-behaved.js';

const JSON_PATH = '/json-echo';
const GROUP = `switchyard-fuzz-${process.pid}`;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' };
/** What a POST of any payload may be answered: taken, refused as bad, gone, too large. */
const POST_STATUSES = [200, 400, 404, 413];
const batch = <T>(item: fc.Arbitrary<T>) => fc.array(item, { minLength: 1, maxLength: 12 });

describe('structured hostile input through live sockets', () => {
  let redis: RedisServer;
  let started: StartedServer;
  let publisher: Redis;
  let failures: ReturnType<typeof watchProcessFailures>;
  const prototypes = guardPrototypes();
  const violations: unknown[] = [];
  let inputs = 0;

  beforeAll(async () => {
    failures = watchProcessFailures();
    redis = await startRedisServer();
    const adapter = new RedisAdapter({ url: redis.url, serverGroup: GROUP, serverName: 'fuzzed' });
    started = await startServer({ adapter, heartbeatIntervalMs: 0, pollDurationMs: 300 }, (server) => {
      installEchoes(server);
      server.onMessage((_conn, data) => {
        if (typeof data !== 'string' && !isPlainData(data)) violations.push(data);
      });
      server.websocket(JSON_PATH, { mode: 'json', pingIntervalMs: 0 }, async (conn) => {
        for await (const value of conn.messages) {
          if (!isPlainData(value)) violations.push(value);
          await conn.send(value);
        }
      });
      server.on('error', () => undefined);
    });
    publisher = new Redis(redis.url);
  });

  afterAll(async () => {
    publisher?.disconnect();
    await started?.close();
    await redis?.stop();
    failures.stop();
  });

  /** A refusal's body is `{code, message}` with a documented code. */
  async function expectDocumented(answer: Response): Promise<void> {
    expect(POST_STATUSES, `status ${answer.status}`).toContain(answer.status);
    const body = await answer.text();
    if (answer.status >= 400) expect(Object.keys(ERROR_CODES)).toContain((JSON.parse(body) as { code: string }).code);
  }

  it('0.6 websocket: each message is handled or closes the session with 1007 / 1009', async () => {
    let client = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
    await fc.assert(
      fc.asyncProperty(batch(sioPayload), async (payloads) => {
        inputs += payloads.length;
        if (client.closeCode !== undefined)
          client = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
        for (const payload of payloads) client.send(payload);
        client.send(encodeFrame('probe'));
        await waitFor(
          () => client.closeCode !== undefined || client.messages.some((m) => m.type === 'text' && m.data === 'probe'),
          { timeoutMs: 5_000, what: 'the probe echo or a close' },
        );
        if (client.closeCode !== undefined) expect([1007, 1009]).toContain(client.closeCode);
        client.messages.length = 0;
        prototypes.check();
      }),
      fuzzParameters(60),
    );
    client.ws.terminate();
  });

  it('xhr-polling and jsonp-polling POSTs: 200, or a documented refusal; never a 5xx', async () => {
    const xhrSession = async () =>
      (await (await fetch(`${started.baseUrl}/socket.io/xhr-polling//${Date.now()}`)).text()).slice(-16);
    const jsonpSession = async () => {
      const body = await (await fetch(`${started.baseUrl}/socket.io/jsonp-polling//${Date.now()}/0`)).text();
      return JsonpClient.run(body, 0)[0]!.slice(-16);
    };
    let sessions = { xhr: await xhrSession(), jsonp: await jsonpSession() };
    const url = (kind: 'xhr' | 'jsonp') =>
      kind === 'xhr'
        ? `${started.baseUrl}/socket.io/xhr-polling/${sessions.xhr}`
        : `${started.baseUrl}/socket.io/jsonp-polling/${sessions.jsonp}/${Date.now()}/0`;
    await fc.assert(
      fc.asyncProperty(batch(sioPayload), fc.constantFrom('xhr' as const, 'jsonp' as const), async (payloads, kind) => {
        inputs += payloads.length;
        for (const payload of payloads) {
          const target = kind === 'xhr' ? `${url(kind)}/send` : url(kind);
          const body = 'data=' + encodeURIComponent(payload);
          const answer = await fetch(target, { method: 'POST', headers: FORM, body });
          await expectDocumented(answer);
          // Gone (closed as a slow consumer of its own echoes, say): the next input gets a new session.
          if (answer.status === 404) sessions = { xhr: await xhrSession(), jsonp: await jsonpSession() };
        }
        // Take the echoes, so the session's queue does not fill.
        const poll = await fetch(kind === 'xhr' ? `${url(kind)}/${Date.now()}` : url(kind));
        expect([200, 404]).toContain(poll.status);
        await poll.arrayBuffer();
        prototypes.check();
      }),
      fuzzParameters(50),
    );
  });

  it('sac-sock: frames are dispatched or dropped, or close with 1007 / 1009', async () => {
    let client = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    await fc.assert(
      fc.asyncProperty(batch(sacSockFrame), async (frames) => {
        inputs += frames.length;
        if (client.closeCode !== undefined) client = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
        for (const { data, isBinary } of frames) client.sendRaw(data, isBinary);
        client.emit('echo', 'probe');
        await waitFor(
          () =>
            client.closeCode !== undefined || client.frames.some((f) => f.data.toString('utf8').endsWith('\x02probe')),
          { timeoutMs: 5_000, what: 'the probe echo or a close' },
        );
        if (client.closeCode !== undefined) expect([1007, 1009]).toContain(client.closeCode);
        client.frames.length = 0;
        prototypes.check();
      }),
      fuzzParameters(60),
    );
    client.ws.terminate();
  });

  it('plain endpoint json channel: an echo of plain data, or close 1007 / 1009', async () => {
    await fc.assert(
      fc.asyncProperty(plainJsonMessage, async ({ data, isBinary }) => {
        inputs++;
        const client = await PlainClient.connect(`${started.wsUrl}${JSON_PATH}`);
        try {
          client.ws.send(data, { binary: isBinary });
          client.ws.send('"probe"');
          await waitFor(() => client.closeCode !== undefined || client.texts().includes('"probe"'), {
            timeoutMs: 5_000,
            what: 'the probe echo or a close',
          });
          if (client.closeCode !== undefined) expect([1007, 1009]).toContain(client.closeCode);
        } finally {
          client.ws.terminate();
        }
        prototypes.check();
      }),
      fuzzParameters(200),
    );
  });

  it('Redis envelopes from "another instance": each delivered or dropped as malformed, none lost track of', async () => {
    const adapter = started.server.adapter as RedisAdapter;
    const member = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
    member.emit('join', 'lobby');
    const channels = channelNames(GROUP);
    const before = { ...adapter.stats };
    let published = 0;
    await fc.assert(
      fc.asyncProperty(batch(redisEnvelope), async (envelopes) => {
        inputs += envelopes.length;
        for (const { kind, text } of envelopes) await publisher.publish(channels[kind], text);
        published += envelopes.length;
        const heard = () => adapter.stats.received + adapter.stats.malformed - before.received - before.malformed;
        await waitFor(() => heard() === published, { timeoutMs: 5_000, what: 'every envelope handled' });
        prototypes.check();
      }),
      fuzzParameters(40),
    );
    expect(adapter.stats.malformed).toBeGreaterThan(before.malformed);
    expect(adapter.stats.received).toBeGreaterThan(before.received);
    member.ws.terminate();
  });

  it('saw plain data only, no process failure, and still serves every well-behaved client', async () => {
    expect(violations).toEqual([]);
    expect(inputs).toBeGreaterThanOrEqual(
      Math.floor(1_000 * Math.min(1, Number(process.env.SWITCHYARD_FUZZ_RUNS ?? 1))),
    );
    await expectAllClientsWork(started.baseUrl);
    await waitFor(() => started.server.sacSock?.size === 0, { what: 'every sac-sock socket to end' });
    expect(failures.list()).toEqual([]);
  });
});
