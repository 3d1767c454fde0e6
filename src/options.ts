import type { AuthorizeHook } from './http/admission.js';
import { CODECS } from './codecs/index.js';
import { DEFAULT_MAX_JSON_DEPTH } from './codecs/json-depth.js';
import type { CodecName } from './codecs/types.js';
import { RealtimeError } from './errors.js';
import { ALLOW_ALL_ORIGINS } from './http/origins.js';
import type { Adapter } from './hub/adapter.js';
import type { ClusterBackend } from './hub/cluster.js';
import type { Instruments } from './hub/instruments.js';
import type { SessionOptions } from './session/conn.js';
import type { QueueOverflowPolicy } from './hub/results.js';
import { TRANSPORT_NAMES, type TransportName } from './session/transport.js';

export type { AuthorizeHook } from './http/admission.js';

/** Every option of `createServer`, each with a working default (see docs/options.md). */
export interface ServerOptions {
  /** URL prefix of the legacy protocol, without slashes. Default `socket.io`. */
  resource?: string;
  /** Enabled transports, in order. Default: all six, in the client's order. */
  transports?: readonly TransportName[];
  /** Allowed origins as `host:port` patterns with `*`. Default `*:*` (allow all). */
  origins?: string | readonly string[];
  /** Called once per request; false refuses it with 401. Default: allow. */
  authorize?: AuthorizeHook;
  /**
   * `Host` header values this server answers to (`host`, `host:port`, `*` wildcards as in
   * `origins`), on every family; any other is refused 403 `ERR_HOST_REFUSED`. Against DNS
   * rebinding: only with it set does a same-origin request prove anything. Default: any Host.
   */
  allowedHosts?: readonly string[];
  /**
   * Addresses or CIDRs of trusted proxies: from them, `X-Forwarded-For` and
   * `X-Forwarded-Proto` give the client's address (caps, logs, `remoteAddress`) and scheme.
   * Default none: no header is trusted.
   */
  trustProxy?: readonly string[];
  /** Most connections at once, every family counted; 0 = unlimited. Default 100 000. Over it: 503. */
  maxConnections?: number;
  /** Most connections per client address; 0 = unlimited. Default 1 000 (one office behind NAT). Over it: 429. */
  maxConnectionsPerAddress?: number;
  /** New sessions (0.6 handshakes, sac-sock and plain upgrades) per second per address; 0 = off (the default). Over it: 429 `ERR_RATE_LIMITED`. */
  maxHandshakesPerSecondPerAddress?: number;
  /** Messages per second per 0.6 session or sac-sock socket; over it they are dropped and counted. 0 = off (the default). */
  maxMessagesPerSecond?: number;
  /** Largest `conn.data` of a 0.6 session, as JSON text, in UTF-8 bytes. Default 16 KiB. */
  maxSessionDataBytes?: number;
  /**
   * A polling session whose client has not polled again this long after an answer counts as
   * lost: a handshake its cookie names may resume it (its next poll died on the way). Default 1 000 ms.
   */
  lostPollGapMs?: number;
  /** Heartbeat period on persistent transports. Default 10 000 ms; 0 turns heartbeats off. */
  heartbeatIntervalMs?: number;
  /** How long an echo may take before the session closes. Default 8 000 ms. */
  heartbeatTimeoutMs?: number;
  /** How long a session outlives its transport, queueing sends. Default 10 000 ms. */
  reconnectWindowMs?: number;
  /** How long a poll is held before an empty answer. Default 20 000 ms (the client gives up at 25 s). */
  pollDurationMs?: number;
  /** Send-queue bound in frames. Default 1 000. */
  maxQueueMessages?: number;
  /** Send-queue bound in UTF-8 bytes. Default 1 MiB. */
  maxQueueBytes?: number;
  /**
   * On a full queue: `close` the session as a slow consumer (default), `refuse` the send, or
   * `drop-oldest` (keep the newest frames; the dropped ones count in `lostMessages`). While a
   * session is detached inside its reconnect window only `maxQueueBytes` bounds its queue.
   */
  queueOverflow?: QueueOverflowPolicy;
  /** Longest frame accepted from a client, in the codec's length unit. Default 1 000 000. */
  maxFrameLength?: number;
  /**
   * Deepest nesting of arrays and objects in a client's JSON message (0.6 `~j~`, a plain
   * endpoint's JSON channel, a Redis envelope); deeper is refused before it is walked
   * (400 / close 1009 `ERR_JSON_TOO_DEEP`). Default 64; 0 = no bound.
   */
  maxJsonDepth?: number;
  /** Largest POST body or websocket message accepted, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** A websocket with more than this many bytes unsent is backed up; sends then queue. Default 64 KiB. */
  wsHighWaterMarkBytes?: number;
  /**
   * How long a draft (hixie-75/76) websocket handshake may take, the 8-byte key3 of hixie-76
   * included; a client that never completes it is cut off. Default 10 000 ms; must be > 0.
   */
  hixieHandshakeTimeoutMs?: number;
  /** Codec of the legacy resource. Default `sio` (what the 0.6.18 client speaks). */
  codec?: CodecName;
  /** Serve the 0.6 browser client at `/<resource>/socket.io.js`. Default true. */
  serveClient?: boolean;
  /**
   * Name prefix of the session cookies that let the unmodified 0.6 client resume its session
   * after a failed poll or a dropped socket (one cookie per session, `<prefix>.<hash>`,
   * HttpOnly, SameSite=Lax, Path = the resource, Secure behind TLS). `false` turns them off.
   * Default `sy.sid`.
   */
  sessionCookie?: string | false;
  /** Path of the sac-sock websocket endpoint, or false for none. Default `/socket`. */
  sacSockPath?: string | false;
  /** Largest sac-sock frame accepted, in bytes; larger closes with 1009. Default 1 MiB. */
  sacSockMaxMessageBytes?: number;
  /**
   * Origins the sac-sock endpoint accepts: `same-origin` (the default, docs/protocol/sac-sock.md §6
   * item 1) or `host:port` patterns.
   */
  sacSockOrigins?: 'same-origin' | string | readonly string[];
  /** Room membership and fan-out; replace with a multi-instance adapter. Default: a new MemoryAdapter. */
  adapter?: Adapter;
  /**
   * Sessions shared by several nodes (`redisCluster()` from `switchyard/redis`): any node
   * serves any request of any 0.6 session, and a session outlives its node. It brings its own
   * adapter (do not pass `adapter` too). Default: none (sessions live in this process).
   */
  cluster?: ClusterBackend;
  /** In a cluster: how long a send relayed to the node that owns its session may wait for its answer. Default 5 000 ms. */
  relayTimeoutMs?: number;
  /**
   * Told by every family what happens to its connections: opened, closed, messages in, out
   * and lost, overflows, fan-out (see `Instruments`). Default: none (counting costs nothing).
   */
  instruments?: Instruments;
  /** How long `close()` waits for queues to drain and clients to close before cutting them. Default 5 000 ms. */
  drainTimeoutMs?: number;
  /**
   * Standalone servers: after the drain, how long every request is still answered 503
   * `ERR_SHUTTING_DOWN` with `Connection: close` before the listener closes (less once no
   * connection is left), so a poll already on its way is answered, never reset. Default 1 000 ms.
   */
  closeGraceMs?: number;
  /** Shut down gracefully on SIGINT/SIGTERM (once; a second signal kills as usual). Default false. */
  handleSignals?: boolean;
  /**
   * TCP port of the separate Flash socket policy listener (only while `flashsocket` is
   * enabled). Default 843; `false` turns it off; 0 picks an ephemeral port. The policy is
   * always answered inline on the HTTP port as well.
   */
  flashPolicyPort?: number | false;
  /**
   * Serve Prometheus metrics at `/metrics` (prom-client, one registry per server; every metric
   * in docs/operations.md). Off a loopback address it needs `adminToken`. Default false.
   */
  metrics?: boolean;
  /** Serve `/healthz` (200 while the process serves) and `/readyz` (503 unless ready). Default false. */
  health?: boolean;
  /** Serve the live dashboard at `/dashboard` (updated every second). Off loopback it needs `adminToken`. Default false. */
  dashboard?: boolean;
  /**
   * The token `/metrics` (`Authorization: Bearer`) and the dashboard (its login form) ask for
   * when the server listens on a non-loopback address. Default none: there they stay closed.
   */
  adminToken?: string;
}

export interface ResolvedOptions extends Required<
  Omit<ServerOptions, 'authorize' | 'codec' | 'adapter' | 'instruments' | 'cluster'>
> {
  readonly authorize: AuthorizeHook | undefined;
  readonly adapter: Adapter | undefined;
  readonly cluster: ClusterBackend | undefined;
  readonly instruments: Instruments | undefined;
  readonly session: SessionOptions;
}

const DEFAULTS = {
  resource: 'socket.io',
  origins: ALLOW_ALL_ORIGINS,
  allowedHosts: [] as readonly string[],
  trustProxy: [] as readonly string[],
  maxConnections: 100_000,
  maxConnectionsPerAddress: 1_000,
  maxHandshakesPerSecondPerAddress: 0,
  maxMessagesPerSecond: 0,
  maxSessionDataBytes: 16 * 1024,
  lostPollGapMs: 1_000,
  heartbeatIntervalMs: 10_000,
  heartbeatTimeoutMs: 8_000,
  reconnectWindowMs: 10_000,
  pollDurationMs: 20_000,
  maxQueueMessages: 1_000,
  maxQueueBytes: 1024 * 1024,
  queueOverflow: 'close',
  maxFrameLength: 1_000_000,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
  maxPayloadBytes: 1024 * 1024,
  wsHighWaterMarkBytes: 64 * 1024,
  hixieHandshakeTimeoutMs: 10_000,
  serveClient: true,
  sessionCookie: 'sy.sid' as string | false,
  sacSockPath: '/socket',
  sacSockMaxMessageBytes: 1024 * 1024,
  sacSockOrigins: 'same-origin',
  drainTimeoutMs: 5_000,
  closeGraceMs: 1_000,
  relayTimeoutMs: 5_000,
  handleSignals: false,
  flashPolicyPort: 843 as number | false,
  metrics: false,
  health: false,
  dashboard: false,
  adminToken: '',
} as const satisfies Partial<ServerOptions>;

function invalid(message: string): never {
  throw new RealtimeError('ERR_INVALID_OPTION', message);
}

function nonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) invalid(`${name} must be a finite number ≥ 0, got ${value}`);
}

/** Fills in the defaults and validates every option; throws `ERR_INVALID_OPTION` on the first bad one. */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  const merged = withDefaults(options);
  const transports = options.transports ?? TRANSPORT_NAMES;
  for (const name of transports) {
    if (!TRANSPORT_NAMES.includes(name)) invalid(`unknown transport "${name}"`);
  }
  validate(merged);
  if (options.cluster !== undefined && options.adapter !== undefined && options.adapter !== options.cluster.adapter) {
    invalid('cluster brings its own adapter: pass cluster or adapter, not both');
  }
  const codec = CODECS[options.codec ?? 'sio'];
  if (codec === undefined) invalid(`unknown codec "${String(options.codec)}"`);
  return {
    ...merged,
    transports,
    authorize: options.authorize,
    adapter: options.adapter ?? options.cluster?.adapter,
    cluster: options.cluster,
    instruments: options.instruments,
    session: {
      heartbeatIntervalMs: merged.heartbeatIntervalMs,
      heartbeatTimeoutMs: merged.heartbeatTimeoutMs,
      reconnectWindowMs: merged.reconnectWindowMs,
      maxQueueMessages: merged.maxQueueMessages,
      maxQueueBytes: merged.maxQueueBytes,
      queueOverflow: merged.queueOverflow,
      maxFrameLength: merged.maxFrameLength,
      maxJsonDepth: merged.maxJsonDepth,
      maxMessagesPerSecond: merged.maxMessagesPerSecond,
      maxSessionDataBytes: merged.maxSessionDataBytes,
      lostPollGapMs: merged.lostPollGapMs,
      codec,
    },
  };
}

/** The numbers that must be finite and ≥ 0 (0 is a real value: "unlimited" or "off"). */
const NON_NEGATIVE_OPTIONS = [
  'maxConnections',
  'maxConnectionsPerAddress',
  'maxHandshakesPerSecondPerAddress',
  'maxMessagesPerSecond',
  'maxSessionDataBytes',
  'lostPollGapMs',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'reconnectWindowMs',
  'pollDurationMs',
  'maxQueueMessages',
  'maxQueueBytes',
  'maxFrameLength',
  'maxJsonDepth',
  'maxPayloadBytes',
  'wsHighWaterMarkBytes',
  'hixieHandshakeTimeoutMs',
  'sacSockMaxMessageBytes',
  'drainTimeoutMs',
  'closeGraceMs',
  'relayTimeoutMs',
] as const;

function withDefaults(options: ServerOptions) {
  return { ...DEFAULTS, ...stripUndefined(options) };
}

function validate(merged: ReturnType<typeof withDefaults>): void {
  if (!/^[A-Za-z0-9._~-]+$/.test(merged.resource)) {
    invalid(`resource must be one path segment, got "${merged.resource}"`);
  }
  for (const key of NON_NEGATIVE_OPTIONS) nonNegative(key, merged[key]);
  if (merged.pollDurationMs <= 0) invalid('pollDurationMs must be > 0');
  if (merged.hixieHandshakeTimeoutMs <= 0) invalid('hixieHandshakeTimeoutMs must be > 0');
  const policyPort = merged.flashPolicyPort;
  if (policyPort !== false && (!Number.isInteger(policyPort) || policyPort < 0 || policyPort > 65535)) {
    invalid(`flashPolicyPort must be a port number (0 = ephemeral) or false, got ${String(policyPort)}`);
  }
  if (!['close', 'refuse', 'drop-oldest'].includes(merged.queueOverflow)) {
    invalid(`queueOverflow must be "close", "refuse" or "drop-oldest", got "${String(merged.queueOverflow)}"`);
  }
  if (merged.sacSockPath !== false && !/^\/[^?#\s]*$/.test(merged.sacSockPath)) {
    invalid(`sacSockPath must be a path starting with "/", or false, got "${String(merged.sacSockPath)}"`);
  }
  if (merged.sacSockMaxMessageBytes <= 0) invalid('sacSockMaxMessageBytes must be > 0');

  if (merged.sessionCookie !== false && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(merged.sessionCookie)) {
    invalid(`sessionCookie must be a cookie name (token characters) or false, got "${String(merged.sessionCookie)}"`);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
