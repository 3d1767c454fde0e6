/**
 * The Redis connections every Redis part of Switchyard opens, with one policy: nothing waits
 * for a connection that is down (a command fails at once and its caller counts or reports
 * it, nothing is queued without bound), reconnection with a capped backoff, a name in
 * CLIENT LIST, and a bounded QUIT.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface ConnectionSettings {
  /** `redis://…` or `rediss://…`. */
  readonly url: string;
  /** A client whose settings to reuse (`duplicate()`), instead of `url`. */
  readonly client?: Redis | undefined;
  readonly connectTimeoutMs: number;
  readonly maxReconnectDelayMs: number;
  /** Shown in CLIENT LIST with the role. */
  readonly name: string;
}

export function redisConnection(
  settings: ConnectionSettings,
  role: string,
  extra: RedisOptions,
  onError: (error: Error) => void,
): Redis {
  const { client, url, connectTimeoutMs, maxReconnectDelayMs, name } = settings;
  const options: RedisOptions = {
    lazyConnect: true,
    // CLIENT LIST shows whose connection it is (Redis refuses spaces in client names).
    connectionName: `switchyard:${name.replace(/[^\w.:-]/g, '_')}:${role}`,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => Math.min(2 ** Math.min(times, 16) * 25, maxReconnectDelayMs),
    // Nothing waits for a connection that is down: a message that cannot go now is
    // dropped and counted, never queued without bound (pub/sub would not keep it anyway).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Resubscribing is the caller's, so that it knows when it is done.
    autoResubscribe: false,
    ...extra,
  };
  const redis = client === undefined ? new Redis(url, options) : client.duplicate(options);
  // ioredis reports every failed reconnection attempt; callers report the loss once.
  redis.on('error', onError);
  return redis;
}

/**
 * QUIT when connected (Redis answers, then closes), waiting at most `limitMs` for a Redis
 * that stopped answering; then, or when not connected, just stop reconnecting.
 */
export async function quit(redis: Redis, limitMs: number): Promise<void> {
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, limitMs);
    });
    // A QUIT that fails means the connection broke meanwhile: disconnect() below is all that is left.
    await Promise.race([redis.quit().catch(() => undefined), limit]);
    clearTimeout(timer);
  }
  redis.disconnect();
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
