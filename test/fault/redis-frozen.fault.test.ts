/**
 * Redis frozen, not gone: the test's own redis-server is stopped with SIGSTOP for about five
 * seconds, its sockets open (the kernel still takes bytes, nothing answers), then resumed
 * with SIGCONT. Publishing instance A must report ERR_ADAPTER_UNAVAILABLE once for the run
 * of failures (`maxPendingPublishes` refusing, `publishTimeoutMs` expiring), count every
 * unconfirmed message in `publishDropped`, keep delivering to its own members, and forward
 * again once Redis runs. What A had already written to the socket reaches B late, in order;
 * what `maxPendingPublishes` refused never does.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisAdapter } from '../../src/adapters/redis/adapter.js';
import type { RealtimeError } from '../../src/errors.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { report } from '../helpers/report.js';
import { SacSockTestClient, splitServerFrame } from '../helpers/sac-sock-client.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const FROZEN_MS = 5_000;
const PUBLISH_TIMEOUT_MS = 1_000;
const MAX_PENDING = 10;

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

interface Instance extends StartedServer {
  readonly adapter: RedisAdapter;
  readonly errors: RealtimeError[];
  readonly member: SacSockTestClient;
}

/** An instance with one sac-sock member in the room `lobby`. */
async function instance(name: string): Promise<Instance> {
  const adapter = new RedisAdapter({
    url: redis.url,
    serverGroup: `switchyard-frozen-${process.pid}`,
    serverName: name,
    publishTimeoutMs: PUBLISH_TIMEOUT_MS,
    maxPendingPublishes: MAX_PENDING,
    maxReconnectDelayMs: 100,
  });
  const errors: RealtimeError[] = [];
  const started = await startServer({ adapter, heartbeatIntervalMs: 0 }, (server) => {
    server.onEvent('join', (socket, data) => {
      socket.join(data.toString());
      socket.emit('joined', data.toString());
    });
    server.on('error', (error) => errors.push(error as RealtimeError));
  });
  const member = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
  member.emit('join', 'lobby');
  await member.next('joined');
  return { ...started, adapter, errors, member };
}

/** Events a member received, in order, as `event:payload`. */
const received = (member: SacSockTestClient): string[] =>
  member.frames.map((frame) => {
    const { event, payload } = splitServerFrame(frame);
    return `${event}:${payload.toString()}`;
  });

describe('a frozen Redis (SIGSTOP for about five seconds, then SIGCONT)', () => {
  const instances: Instance[] = [];
  afterEach(async () => {
    redis.thaw();
    for (const one of instances.splice(0)) {
      one.member.ws.terminate();
      await one.close();
    }
  });

  it('reports once, counts the drops, keeps local fan-out, and forwards again', { timeout: 30_000 }, async () => {
    const a = await instance('node-a');
    const b = await instance('node-b');
    instances.push(a, b);
    a.server.to('lobby').emit('n', 'before');
    await waitFor(() => received(b.member).includes('n:before'), { what: 'B hears A before the freeze' });

    redis.freeze();
    const frozenAt = Date.now();
    // The first MAX_PENDING go onto the socket and wait for an answer; the rest are refused.
    for (let i = 0; i < 30; i++) expect(a.server.to('lobby').emit('n', `m${i}`)).toEqual({ delivered: 1, refused: 0 });
    await waitFor(() => a.adapter.stats.publishDropped === 30, {
      timeoutMs: PUBLISH_TIMEOUT_MS + 3_000,
      what: 'the refused and the timed-out publishes counted',
    });
    expect(a.errors.map((error) => error.code)).toEqual(['ERR_ADAPTER_UNAVAILABLE']);
    expect(a.errors[0]!.message).toContain('maxPendingPublishes');
    // Still frozen: more publishes time out; the run of failures is not reported again.
    for (let i = 0; i < 5; i++) a.server.to('lobby').emit('n', `late${i}`);
    await waitFor(() => a.adapter.stats.publishDropped === 35, {
      timeoutMs: PUBLISH_TIMEOUT_MS + 3_000,
      what: 'timeouts',
    });
    expect(a.errors).toHaveLength(1);
    // Local members never noticed: every message reached A's own member at once.
    const local = received(a.member).filter((item) => /^n:(m|late)\d+$/.test(item));
    expect(local).toHaveLength(35);
    expect(a.adapter.isForwarding).toBe(true); // the connections never broke, Redis only stopped answering
    await waitFor(() => Date.now() - frozenAt >= FROZEN_MS, { timeoutMs: FROZEN_MS + 1_000, what: 'the freeze' });

    redis.thaw();
    a.server.to('lobby').emit('n', 'after');
    await waitFor(() => received(b.member).includes('n:after'), { timeoutMs: 5_000, what: 'B hears A again' });
    const atB = received(b.member).filter((item) => item.startsWith('n:'));
    // What was on the socket arrives late and in order; what was refused never was published.
    const written = [
      ...Array.from({ length: MAX_PENDING }, (_, i) => `n:m${i}`),
      ...[0, 1, 2, 3, 4].map((i) => `n:late${i}`),
    ];
    expect(atB).toEqual(['n:before', ...written, 'n:after']);
    await waitFor(() => a.adapter.stats.published >= 2, { what: 'the publish after the thaw acknowledged' });
    expect(a.errors).toHaveLength(1);
    expect(b.errors).toEqual([]);
    report(`frozen Redis: ${a.adapter.stats.publishDropped} counted dropped, ${written.length} of them delivered late`);
  });
});
