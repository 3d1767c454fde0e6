/**
 * The two connections of a node to the cluster's Redis, shared by the session store, the
 * relay's bus and the cluster adapter: one for commands (and PUBLISH, so that what a node
 * writes and what it publishes reach Redis in the order it did them), one subscribed. A loss
 * of either is reported once per outage (ERR_ADAPTER_UNAVAILABLE); ioredis reconnects, and
 * the link subscribes again.
 */
import type { Redis } from 'ioredis';
import { RealtimeError } from '../../errors.js';
import { defineScripts } from './cluster-scripts.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import { messageOf, quit, redisConnection } from './connections.js';

type State = 'starting' | 'up' | 'down' | 'closed';

export class RedisLink {
  readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, (payload: string) => void>();
  private state: State = 'starting';
  private lastError: string | undefined;
  private reporter: (error: RealtimeError) => void = (error) =>
    process.emitWarning(error.message, { code: error.code });

  constructor(private readonly options: ResolvedRedisClusterOptions) {
    const settings = { ...options, name: options.nodeId };
    const onError = (error: Error) => {
      this.lastError = messageOf(error);
    };
    this.commands = redisConnection(
      settings,
      'cluster',
      { commandTimeout: options.commandTimeoutMs, enableAutoPipelining: true },
      onError,
    );
    defineScripts(this.commands);
    this.subscriber = redisConnection(settings, 'cluster-subscribe', {}, onError);
  }

  /** True while both connections are up and subscribed. */
  get isUp(): boolean {
    return this.state === 'up';
  }

  setReporter(report: (error: RealtimeError) => void): void {
    this.reporter = report;
  }

  /** Where messages on `channel` go (before `start`). */
  on(channel: string, handler: (payload: string) => void): void {
    this.handlers.set(channel, handler);
  }

  /** Connects both, checks Redis, subscribes; rejects with ERR_ADAPTER_UNAVAILABLE after `connectTimeoutMs`. */
  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.options.connectTimeoutMs} ms`)),
        this.options.connectTimeoutMs,
      );
    });
    try {
      await Promise.race([this.connect(), deadline]);
    } catch (cause) {
      this.commands.disconnect();
      this.subscriber.disconnect();
      this.state = 'down';
      const detail = this.lastError === undefined ? '' : ` (${this.lastError})`;
      throw new RealtimeError(
        'ERR_ADAPTER_UNAVAILABLE',
        `Redis at ${this.where()} is unreachable: ${messageOf(cause)}${detail}`,
        { cause },
      );
    } finally {
      clearTimeout(timer);
    }
    this.subscriber.on('message', (channel: string, payload: string) => this.handlers.get(channel)?.(payload));
    this.subscriber.on('ready', () => this.resubscribe());
    this.subscriber.on('close', () => this.lost('subscription'));
    this.commands.on('ready', () => this.recovered());
    this.commands.on('close', () => this.lost('connection'));
    this.state = 'up';
  }

  /** Reports a failure of a command (once per outage). */
  failed(what: string, error: unknown): void {
    if (this.state !== 'up') return;
    this.state = 'down';
    this.reporter(
      new RealtimeError('ERR_ADAPTER_UNAVAILABLE', `Redis at ${this.where()}: ${what} failed (${messageOf(error)})`),
    );
    // A command that timed out does not close the connection: watch for the next success.
    void this.commands.ping().then(
      () => this.recovered(),
      () => undefined,
    );
  }

  report(error: RealtimeError): void {
    this.reporter(error);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    await Promise.all([
      quit(this.subscriber, this.options.connectTimeoutMs),
      quit(this.commands, this.options.connectTimeoutMs),
    ]);
  }

  private async connect(): Promise<void> {
    await Promise.all([this.commands.connect(), this.subscriber.connect()]);
    await this.commands.ping();
    await this.subscriber.subscribe(...this.handlers.keys());
  }

  private resubscribe(): void {
    if (this.state === 'closed') return;
    this.subscriber.subscribe(...this.handlers.keys()).then(
      () => this.recovered(),
      (error: unknown) => {
        this.lastError = messageOf(error);
      },
    );
  }

  private lost(which: string): void {
    if (this.state !== 'up') return;
    this.state = 'down';
    const why = this.lastError ?? 'connection closed';
    this.reporter(
      new RealtimeError(
        'ERR_ADAPTER_UNAVAILABLE',
        `the Redis ${which} to ${this.where()} is down (${why}); reconnecting. Meanwhile sessions live on their own nodes only`,
      ),
    );
  }

  private recovered(): void {
    if (this.state !== 'down') return;
    if (this.commands.status !== 'ready' || this.subscriber.status !== 'ready') return;
    this.state = 'up';
    this.lastError = undefined;
  }

  private where(): string {
    // The URL may carry a password: name only host and port.
    const { host, port } = this.commands.options;
    return `${host ?? '?'}:${port ?? '?'}`;
  }
}
