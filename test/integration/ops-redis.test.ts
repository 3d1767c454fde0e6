/**
 * Readiness and the adapter metrics with a real Redis: ready while the RedisAdapter forwards,
 * 503 while Redis is gone (the server would only hear itself), ready again once it is back;
 * the adapter's failures counted in `switchyard_adapter_errors_total`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisAdapter } from '../../src/adapters/redis/adapter.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

let redis: RedisServer;
let started: StartedServer | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  await started?.close();
  started = undefined;
});
afterAll(async () => {
  await redis?.stop();
});

const status = async (url: string): Promise<number> => (await fetch(url)).status;

describe('readiness with a RedisAdapter', () => {
  it('is 503 while Redis is gone and 200 once it is back, counting the adapter failure', async () => {
    const adapter = new RedisAdapter({ url: redis.url, maxReconnectDelayMs: 100 });
    started = await startServer({ adapter, health: true, metrics: true });
    started.server.on('error', () => undefined);
    const { baseUrl } = started;
    expect(await status(`${baseUrl}/readyz`)).toBe(200);

    await redis.kill();
    await waitFor(async () => (await status(`${baseUrl}/readyz`)) === 503, { what: '/readyz to say not ready' });
    const body = await (await fetch(`${baseUrl}/readyz`)).json();
    expect(body).toEqual({
      status: 'not ready',
      code: 'ERR_ADAPTER_UNAVAILABLE',
      reason: 'the adapter has lost its broker',
    });
    expect(await status(`${baseUrl}/healthz`)).toBe(200);
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(Number(/^switchyard_adapter_errors_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    await redis.restart();
    await waitFor(async () => (await status(`${baseUrl}/readyz`)) === 200, {
      timeoutMs: 10_000,
      what: '/readyz to be ready again',
    });
  });
});
