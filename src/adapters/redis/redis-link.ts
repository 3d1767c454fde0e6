/**
 * The two connections of a node to the cluster's Redis, shared by the session store, the
 * relay's bus and the cluster adapter: one for commands (and PUBLISH, so that what a node
 * writes and what it publishes reach Redis in the order it did them), one subscribed. A loss
 * of either is reported once per outage (ERR_ADAPTER_UNAVAILABLE); ioredis reconnects, and
 * the link subscribes again.
 *
 * On a Redis Cluster both are ioredis Cluster clients (a connection per shard each), and the
 * channels are sharded (SPUBLISH/SSUBSCRIBE: a message goes to its channel's shard only, one
 * subscribed connection per shard) when Redis is 7 or newer, the installed ioredis has sharded
 * subscribers and `pubSub` is `auto`; otherwise classic pub/sub, which Redis Cluster forwards to
 * every shard. ioredis moves a Cluster's subscriptions to another node itself.
 */
import { Cluster } from 'ioredis';
import { RealtimeError } from '../../errors.js';
import { defineScripts } from './cluster-scripts.js';
import type { ResolvedRedisClusterOptions } from './cluster-options.js';
import {
  connectClient,
  isCluster,
  isCrossSlot,
  messageOf,
  pingEvery,
  quit,
  redisConnection,
  whereOf,
  type RedisClient,
} from './connections.js';

type State = 'starting' | 'up' | 'down' | 'closed';

/** ioredis' Cluster has sharded subscribers (the `shardedSubscribers` option) since 5.x; older ones ignore it. */
const HAS_SHARDED_SUBSCRIBERS = 'createShardedSubscriberGroup' in Cluster.prototype;
/** Sharded pub/sub came with Redis 7.0. */
const SHARDED_SINCE_MAJOR = 7;

export class RedisLink {
  readonly commands: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly handlers = new Map<string, (payload: string) => void>();
  private state: State = 'starting';
  private lastError: string | undefined;
  private readonly mayShard: boolean;
  private sharded = false;
  /** Cross-slot failures already reported, by what failed: a bug, reported once per kind. */
  private readonly crossSlot = new Set<string>();
  private reporter: (error: RealtimeError) => void = (error) =>
    process.emitWarning(error.message, { code: error.code });

  constructor(private readonly options: ResolvedRedisClusterOptions) {
    const settings = { ...options, name: options.nodeId };
    const onError = (error: Error) => {
      this.lastError = messageOf(error);
    };
    this.mayShard = isCluster(options) && options.pubSub === 'auto' && HAS_SHARDED_SUBSCRIBERS;
    this.commands = redisConnection(
      settings,
      'cluster',
      { commandTimeout: options.commandTimeoutMs, enableAutoPipelining: true },
      onError,
    );
    defineScripts(this.commands);
    this.subscriber = redisConnection(settings, 'cluster-subscribe', { shardedSubscribers: this.mayShard }, onError);
  }

  /** True while both connections are up and subscribed. */
  get isUp(): boolean {
    return this.state === 'up';
  }

  /** True when the channels are sharded (a Redis Cluster ≥ 7): known once `start` resolved. */
  get isSharded(): boolean {
    return this.sharded;
  }

  /** The command that publishes on this link's channels: PUBLISH or SPUBLISH. */
  get publishCommand(): 'PUBLISH' | 'SPUBLISH' {
    return this.sharded ? 'SPUBLISH' : 'PUBLISH';
  }

  setReporter(report: (error: RealtimeError) => void): void {
    this.reporter = report;
  }

  /** Where messages on `channel` go (before `start`). */
  on(channel: string, handler: (payload: string) => void): void {
    this.handlers.set(channel, handler);
  }

  /** Subscribes to `channel` now (after `start`): messages go to `handler`. */
  async listen(channel: string, handler: (payload: string) => void): Promise<void> {
    if (this.handlers.has(channel)) return;
    this.handlers.set(channel, handler);
    await this.subscribe([channel]);
  }

  /** Stops listening to `channel`. */
  async unlisten(channel: string): Promise<void> {
    if (!this.handlers.delete(channel)) return;
    await (this.sharded ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel));
  }

  /** Publishes on one of the link's channels (sharded or classic, as the link is). */
  async publish(channel: string, payload: string): Promise<void> {
    await (this.sharded ? this.commands.spublish(channel, payload) : this.commands.publish(channel, payload));
  }

  /** How many connections (of every node) are subscribed to `channel`, on every shard. */
  async subscriberCount(channel: string): Promise<number> {
    const kind = this.sharded ? 'SHARDNUMSUB' : 'NUMSUB';
    const shards = this.commands instanceof Cluster ? this.commands.nodes('master') : [this.commands];
    const answers = await Promise.all(shards.map((shard) => shard.call('PUBSUB', kind, channel)));
    return answers.reduce<number>((sum, answer) => sum + Number((answer as unknown[])[1] ?? 0), 0);
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
    const deliver = (channel: string, payload: string) => this.handlers.get(channel)?.(payload);
    this.subscriber.on(this.sharded ? 'smessage' : 'message', deliver);
    // A Cluster client resubscribes itself; one Redis is resubscribed here.
    this.subscriber.on('ready', () => (this.subscriber instanceof Cluster ? this.recovered() : this.resubscribe()));
    this.subscriber.on('close', () => this.lost('subscription'));
    this.commands.on('ready', () => this.recovered());
    this.commands.on('close', () => this.lost('connection'));
    this.state = 'up';
  }

  /**
   * Reports a failure of a command (once per outage). Keys of two slots (a Redis Cluster
   * refusing a command or script) are no outage: ERR_CROSS_SLOT, once per kind of command.
   */
  failed(what: string, error: unknown): void {
    if (isCrossSlot(error)) {
      if (this.crossSlot.has(what)) return;
      this.crossSlot.add(what);
      this.reporter(
        new RealtimeError('ERR_CROSS_SLOT', `Redis Cluster at ${this.where()}: ${what} failed (${messageOf(error)})`),
      );
      return;
    }
    if (this.state !== 'up') return;
    this.state = 'down';
    this.reporter(
      new RealtimeError('ERR_ADAPTER_UNAVAILABLE', `Redis at ${this.where()}: ${what} failed (${messageOf(error)})`),
    );
    // A command that timed out does not close the connection: watch for the next success.
    void pingEvery(this.commands).then(
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
    await Promise.all([connectClient(this.commands), connectClient(this.subscriber)]);
    await this.commands.ping();
    this.sharded = this.mayShard && (await this.majorVersion()) >= SHARDED_SINCE_MAJOR;
    await this.subscribe([...this.handlers.keys()]);
  }

  /** Redis' major version (of the shard that answers, on a Cluster: they are expected to match). */
  private async majorVersion(): Promise<number> {
    const info = await this.commands.info('server');
    return Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 0);
  }

  /** Classic channels in one SUBSCRIBE; sharded ones one by one (each may be on another shard). */
  private async subscribe(channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    if (this.sharded) await Promise.all(channels.map((channel) => this.subscriber.ssubscribe(channel)));
    else await this.subscriber.subscribe(...channels);
  }

  private resubscribe(): void {
    if (this.state === 'closed') return;
    this.subscribe([...this.handlers.keys()]).then(
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
    return whereOf(this.commands);
  }
}
