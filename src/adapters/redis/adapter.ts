/**
 * Several Switchyard instances that share one Redis behave as one server for fan-out:
 * sacrificial-socket's multihome model over its ssredis backend (docs/protocol/sac-sock.md §5.1,
 * §5.2).
 *
 * Membership stays local (a composed MemoryAdapter). `fanOut` delivers to the local
 * members, then publishes the message on the server group's broadcast or roomcast channel,
 * fire-and-forget. Every instance subscribes to both channels and delivers what others
 * published to its own members, never publishing it again (the only loop protection), and
 * drops its own messages by server name (local delivery already happened).
 *
 * Two connections, as ssredis has: a subscribed connection can run nothing but (P)SUBSCRIBE.
 *
 *   fanOut ──► local.fanOut ──► members here
 *      └────► PUBLISH <group>:_ss_broadcasts|_ss_roomcasts  ──► other instances
 *   message on a channel ──► decode ──► (own name? drop) ──► local.fanOut
 *
 * Failure: pub/sub keeps nothing. While this instance's subscription is down, what others
 * publish is lost to it; while its publishing connection is down, what it publishes is
 * dropped (counted in `stats`). Each loss of the link is reported once as
 * ERR_ADAPTER_UNAVAILABLE; ioredis reconnects, and the adapter subscribes again.
 */
import { EventEmitter } from 'node:events';
import type { RedisOptions } from 'ioredis';
import { nanoid } from 'nanoid';
import { DEFAULT_MAX_JSON_DEPTH } from '../../codecs/json-depth.js';
import { RealtimeError } from '../../errors.js';
import {
  MemoryAdapter,
  PRIVATE_ROOM_PREFIX,
  type Adapter,
  type FanOutReport,
  type FanOutTarget,
} from '../../hub/adapter.js';
import type { PresenceEvent, RemovalReason } from '../../hub/membership.js';
import type { Member } from '../../hub/member.js';
import type { PreparedMessage } from '../../hub/prepared.js';
import { channelNames, decodeEnvelope, DEFAULT_SERVER_GROUP, encodeEnvelope, type ChannelKind } from './envelope.js';
import { classicPublish, definePublishVia } from './cluster-scripts.js';
import {
  connectClient,
  connectionOptionProblem,
  messageOf,
  quit,
  redisConnection,
  whereOf,
  type RedisClient,
} from './connections.js';

export interface RedisAdapterOptions {
  /**
   * Where Redis is (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS), or a Redis
   * Cluster (`redis+cluster://host:port[,host:port…]`, classic pub/sub). Default `redis://127.0.0.1:6379`.
   */
  url?: string;
  /**
   * An ioredis client (`Redis` or `Cluster`) whose connection settings to reuse instead of `url`: the
   * adapter opens its two connections with `client.duplicate()` and never uses or closes `client` itself.
   */
  client?: RedisClient;
  /** This instance's name, unique in the group: the echo filter. Default: a new nanoid. */
  serverName?: string;
  /** Instances see only messages of their own group. Default `ss-rmhb-group-default`. */
  serverGroup?: string;
  /** Most time `ready()` waits for both connections, PING and SUBSCRIBE. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts after Redis went away. Default 2 000 ms. */
  maxReconnectDelayMs?: number;
  /** A PUBLISH without an answer this long fails (and is reported). Default 5 000 ms. */
  publishTimeoutMs?: number;
  /** Most PUBLISHes waiting for Redis' answer; beyond it messages are dropped (and reported). Default 10 000. */
  maxPendingPublishes?: number;
  /** Envelopes larger than this are neither published nor delivered (reported). Default 16 MiB. */
  maxEnvelopeBytes?: number;
  /** Deepest nesting of a forwarded JSON value; deeper envelopes are dropped (reported). Default 64; 0 = no bound. */
  maxJsonDepth?: number;
}

export type ResolvedRedisAdapterOptions = Required<Omit<RedisAdapterOptions, 'client'>> & { client?: RedisClient };

const DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  serverGroup: DEFAULT_SERVER_GROUP,
  connectTimeoutMs: 5_000,
  maxReconnectDelayMs: 2_000,
  publishTimeoutMs: 5_000,
  maxPendingPublishes: 10_000,
  maxEnvelopeBytes: 16 * 1024 * 1024,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
} as const;

const POSITIVE_INTEGER_OPTIONS = [
  'connectTimeoutMs',
  'maxReconnectDelayMs',
  'publishTimeoutMs',
  'maxPendingPublishes',
  'maxEnvelopeBytes',
] as const;

function invalid(message: string): never {
  throw new RealtimeError('ERR_INVALID_OPTION', `RedisAdapter: ${message}`);
}

/** Fills in the defaults and validates; throws ERR_INVALID_OPTION on the first bad option. */
export function resolveRedisAdapterOptions(options: RedisAdapterOptions = {}): ResolvedRedisAdapterOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const merged = { ...DEFAULTS, serverName: nanoid(), ...defined } as ResolvedRedisAdapterOptions;
  for (const key of POSITIVE_INTEGER_OPTIONS) {
    const value = merged[key];
    if (!Number.isSafeInteger(value) || value <= 0) invalid(`${key} must be an integer > 0, got ${String(value)}`);
  }
  if (!Number.isSafeInteger(merged.maxJsonDepth) || merged.maxJsonDepth < 0) {
    invalid(`maxJsonDepth must be an integer ≥ 0, got ${String(merged.maxJsonDepth)}`);
  }
  const connectionProblem = connectionOptionProblem(merged.url, merged.client);
  if (connectionProblem !== undefined) invalid(connectionProblem);
  for (const key of ['serverName', 'serverGroup'] as const) {
    const value = merged[key];
    if (typeof value !== 'string' || value === '' || value.length > 256) {
      invalid(`${key} must be a non-empty string of at most 256 characters`);
    }
  }
  return merged;
}

/** What went through the adapter since it was made. */
export interface RedisAdapterStats {
  /** PUBLISHes Redis acknowledged. */
  published: number;
  /** Messages not published: link down, a failed or timed-out PUBLISH, too many pending, too large. */
  publishDropped: number;
  /** Messages from other instances delivered locally. */
  received: number;
  /** This instance's own messages coming back, dropped. */
  echoes: number;
  /** Envelopes that did not decode (or were too large), dropped. */
  malformed: number;
}

export interface RedisAdapterEvents {
  /** A failure outside any call: the link went down, a publish failed, a malformed envelope. */
  error: [error: RealtimeError];
  /** Both connections are up and subscribed again after a loss. */
  forwarding: [];
}

type Link = 'starting' | 'up' | 'down' | 'closed';

/** The Redis-backed Adapter: see the file header. Pass it as `createServer({ adapter })`. */
export class RedisAdapter extends EventEmitter<RedisAdapterEvents> implements Adapter {
  readonly options: ResolvedRedisAdapterOptions;
  readonly stats: RedisAdapterStats = { published: 0, publishDropped: 0, received: 0, echoes: 0, malformed: 0 };
  private readonly local = new MemoryAdapter();
  private readonly channels: Record<ChannelKind, string>;
  private readonly publisher: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly started: Promise<void>;
  private link: Link = 'starting';
  private isSubscribed = false;
  private pendingPublishes = 0;
  /** A publish failure is reported once until a publish succeeds again. */
  private isPublishFailing = false;
  private reporter: ((error: Error) => void) | undefined;
  /** The last connection error ioredis reported, for the message of the next loss. */
  private lastError: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RedisAdapterOptions = {}) {
    super();
    this.options = resolveRedisAdapterOptions(options);
    this.channels = channelNames(this.options.serverGroup);
    this.publisher = this.connection('publish', { commandTimeout: this.options.publishTimeoutMs });
    definePublishVia(this.publisher);
    this.subscriber = this.connection('subscribe', {});
    this.started = this.start();
    // The outcome reaches whoever awaits ready() (the server always does); this copy only
    // keeps an adapter nobody awaited from raising an unhandled rejection.
    this.started.catch(() => undefined);
  }

  /** This instance's name in the group. */
  get serverName(): string {
    return this.options.serverName;
  }

  /** True while both connections are up and subscribed: fan-out reaches the other instances. */
  get isForwarding(): boolean {
    return this.link === 'up';
  }

  /**
   * Resolves once PING answered and both channels are subscribed; rejects with
   * ERR_ADAPTER_UNAVAILABLE (and releases the connections) when that takes longer than
   * `connectTimeoutMs` or Redis refuses. The server awaits it before it listens.
   */
  ready(): Promise<void> {
    return this.started;
  }

  setErrorReporter(report: (error: Error) => void): void {
    this.reporter = report;
  }

  // ── Membership: local, as sacrificial-socket's hub keeps it ───────────────────────────

  get size(): number {
    return this.local.size;
  }

  /** The named rooms with members on this instance (membership stays local). */
  roomNames(): Iterable<string> {
    return this.local.roomNames();
  }

  /** Presence of this instance's members (membership stays local: every instance has its own). */
  onPresence(listener: (event: PresenceEvent) => void): void {
    this.local.onPresence(listener);
  }

  addMember(member: Member): void {
    this.local.addMember(member);
  }

  removeMember(id: string, reason?: RemovalReason): void {
    this.local.removeMember(id, reason);
  }

  join(id: string, room: string): boolean {
    return this.local.join(id, room);
  }

  leave(id: string, room: string): boolean {
    return this.local.leave(id, room);
  }

  rooms(id: string): ReadonlySet<string> {
    return this.local.rooms(id);
  }

  members(room: string): ReadonlySet<string> {
    return this.local.members(room);
  }

  // ── Fan-out ───────────────────────────────────────────────────────────────────────────

  /** Delivers locally (the report is about this instance), then publishes for the others. */
  fanOut(message: PreparedMessage, target: FanOutTarget): FanOutReport {
    const report = this.local.fanOut(message, target);
    if (this.shouldPublish(target)) this.publish(message, target);
    return report;
  }

  /** Quits both connections (bounded), then forgets the local members; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────

  private connection(role: string, extra: RedisOptions): RedisClient {
    const { client, url, connectTimeoutMs, maxReconnectDelayMs, serverName } = this.options;
    const settings = { url, client, connectTimeoutMs, maxReconnectDelayMs, name: serverName };
    return redisConnection(settings, role, extra, (error) => this.onConnectionError(error));
  }

  private async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within connectTimeoutMs (${this.options.connectTimeoutMs} ms)`)),
        this.options.connectTimeoutMs,
      );
    });
    try {
      await Promise.race([this.connectBoth(), deadline]);
    } catch (cause) {
      this.publisher.disconnect();
      this.subscriber.disconnect();
      if (this.link !== 'closed') this.link = 'down';
      const detail = this.lastError === undefined ? '' : ` (${this.lastError})`;
      const message = `Redis at ${this.where()} is unreachable: ${messageOf(cause)}${detail}`;
      throw new RealtimeError('ERR_ADAPTER_UNAVAILABLE', message, { cause });
    } finally {
      clearTimeout(timer);
    }
    // close() while starting: shutdown() quits the connections once this returns.
    if (this.link === 'closed') return;
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onRemote(channel, message));
    this.subscriber.on('ready', () => this.onSubscriberReady());
    this.subscriber.on('close', () => this.onConnectionLost('subscription'));
    this.publisher.on('ready', () => this.updateLink());
    this.publisher.on('close', () => this.onConnectionLost('publishing connection'));
    this.link = 'up';
  }

  private async connectBoth(): Promise<void> {
    await Promise.all([connectClient(this.publisher), connectClient(this.subscriber)]);
    // ssredis checks Redis with PING before anything else (docs/protocol/sac-sock.md §5.2).
    await this.publisher.ping();
    await this.subscriber.subscribe(this.channels.roomcasts, this.channels.broadcasts);
    this.isSubscribed = true;
  }

  private where(): string {
    return whereOf(this.publisher);
  }

  /** Not when no target room exists, nor for a socketcast to a member of this instance. */
  private shouldPublish(target: FanOutTarget): boolean {
    if (this.link === 'closed') return false;
    const rooms = target.rooms;
    if (rooms === undefined) return true;
    if (rooms.length === 0) return false;
    // Member ids are unique across instances (nanoid), so another instance has none of these.
    return !rooms.every((room) => room.startsWith(PRIVATE_ROOM_PREFIX) && this.local.members(room).size > 0);
  }

  private publish(message: PreparedMessage, target: FanOutTarget): void {
    // Publishing needs only its own connection: with the subscription down, the others
    // still hear from this instance.
    if (this.link === 'starting' || this.publisher.status !== 'ready') {
      // The loss of the connection was reported when it happened; this message is only counted.
      this.stats.publishDropped++;
      return;
    }
    if (this.pendingPublishes >= this.options.maxPendingPublishes) {
      this.publishFailed(`more than maxPendingPublishes (${this.options.maxPendingPublishes}) are waiting for Redis`);
      return;
    }
    let envelope: { kind: ChannelKind; json: string };
    try {
      envelope = encodeEnvelope(message, target, this.options.serverName);
    } catch (error) {
      // A value without a JSON form: the local members refused it too.
      this.stats.publishDropped++;
      this.report(error instanceof RealtimeError ? error : new RealtimeError('ERR_INVALID_MESSAGE', messageOf(error)));
      return;
    }
    if (Buffer.byteLength(envelope.json) > this.options.maxEnvelopeBytes) {
      this.publishFailed(`an envelope is larger than maxEnvelopeBytes (${this.options.maxEnvelopeBytes})`, false);
      return;
    }
    this.pendingPublishes++;
    // Classic pub/sub always (Go peers); on a Redis Cluster routed by this instance's name (cluster-scripts.ts).
    classicPublish(this.publisher, this.channels[envelope.kind], envelope.json, this.options.serverName).then(
      () => this.onPublished(),
      (error: unknown) => this.onPublishError(error),
    );
  }

  private onPublished(): void {
    this.pendingPublishes--;
    this.stats.published++;
    this.isPublishFailing = false;
  }

  private onPublishError(error: unknown): void {
    this.pendingPublishes--;
    this.publishFailed(`PUBLISH failed: ${messageOf(error)}`);
  }

  /** Counts a dropped message; reports the first of a run of failures (`once`), or every one. */
  private publishFailed(why: string, once = true): void {
    this.stats.publishDropped++;
    if (once && this.isPublishFailing) return;
    if (once) this.isPublishFailing = true;
    this.report(
      new RealtimeError('ERR_ADAPTER_UNAVAILABLE', `a message was not forwarded to the other instances: ${why}`),
    );
  }

  private onRemote(channel: Buffer, payload: Buffer): void {
    if (this.link === 'closed') return;
    const kind: ChannelKind = channel.toString() === this.channels.roomcasts ? 'roomcasts' : 'broadcasts';
    if (payload.length > this.options.maxEnvelopeBytes) {
      this.dropMalformed(kind, `${payload.length} bytes is over maxEnvelopeBytes (${this.options.maxEnvelopeBytes})`);
      return;
    }
    const decoded = decodeEnvelope(payload.toString('utf8'), kind, this.options.maxJsonDepth);
    if (!decoded.ok) {
      this.dropMalformed(kind, decoded.error.message);
      return;
    }
    const { sender, message, target } = decoded.value;
    if (sender === this.options.serverName) {
      this.stats.echoes++;
      return;
    }
    this.stats.received++;
    // Delivered here only, never published again: the loop protection of docs/protocol/sac-sock.md
    // §5.1. A throw must not escape into ioredis' event emitter, where it would end the process.
    try {
      this.local.fanOut(message, target);
    } catch (cause) {
      this.report(new RealtimeError('ERR_HANDLER_FAILED', 'a forwarded message could not be delivered', { cause }));
    }
  }

  private dropMalformed(kind: ChannelKind, why: string): void {
    this.stats.malformed++;
    this.report(new RealtimeError('ERR_MALFORMED_FRAME', `dropped an envelope from ${this.channels[kind]}: ${why}`));
  }

  private onSubscriberReady(): void {
    if (this.link === 'closed') return;
    this.subscriber.subscribe(this.channels.roomcasts, this.channels.broadcasts).then(
      () => {
        this.isSubscribed = true;
        this.updateLink();
      },
      // The connection broke again before SUBSCRIBE answered; the next 'ready' retries.
      (error: unknown) => this.onConnectionError(error as Error),
    );
  }

  private onConnectionLost(which: string): void {
    if (which === 'subscription') this.isSubscribed = false;
    if (this.link !== 'up') return;
    this.link = 'down';
    const why = this.lastError ?? 'connection closed';
    // Reported once per outage: whichever connection goes first stands for both.
    this.report(
      new RealtimeError(
        'ERR_ADAPTER_UNAVAILABLE',
        `the Redis ${which} to ${this.where()} is down (${why}); reconnecting. Until it is back, what other ` +
          'instances publish is lost to this one, and fan-out without a publishing connection reaches only local members',
      ),
    );
  }

  private onConnectionError(error: Error): void {
    this.lastError = messageOf(error);
  }

  private updateLink(): void {
    if (this.link !== 'down' || !this.isSubscribed || this.publisher.status !== 'ready') return;
    this.link = 'up';
    this.lastError = undefined;
    this.emit('forwarding');
  }

  private report(error: RealtimeError): void {
    if (this.reporter !== undefined) this.reporter(error);
    if (this.listenerCount('error') > 0) this.emit('error', error);
    // Neither a server nor a listener: an 'error' event without listeners would throw.
    else if (this.reporter === undefined) process.emitWarning(error.message, { code: error.code });
  }

  private async shutdown(): Promise<void> {
    const wasStarting = this.link === 'starting';
    this.link = 'closed';
    if (wasStarting) await this.started.catch(() => undefined);
    const limitMs = this.options.connectTimeoutMs;
    await Promise.all([quit(this.subscriber, limitMs), quit(this.publisher, limitMs)]);
    await this.local.close();
  }
}
