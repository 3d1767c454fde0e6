/**
 * Options of one plain websocket endpoint, their defaults and validation. Every field left
 * `undefined` takes its default; `0` and `false` are real values (go-macaron/sockets could
 * never set them, see its options merge).
 */
import type { LevelWithSilent } from 'pino';
import { DEFAULT_MAX_JSON_DEPTH } from '../codecs/json-depth.js';
import { RealtimeError } from '../errors.js';
import { compileOriginCheck, DEFAULT_ALLOWED_ORIGIN, type AllowedOrigin, type OriginCheck } from './origin-pattern.js';
import type { PendingConnection } from './pending.js';

/** How messages are decoded from and encoded to the wire. */
export type ChannelMode = 'json' | 'text' | 'binary';

/** What an inbound message that does not decode (bad JSON, failed validation, bad UTF-8) does. */
export type InvalidMessagePolicy = 'close' | 'skip' | 'error';

/** The accept hook's verdict: false refuses (403); `{ protocol }` names the chosen subprotocol. */
export type AcceptResult = boolean | { readonly protocol?: string };

export type AcceptHook = (
  pending: PendingConnection,
  protocols: readonly string[],
) => AcceptResult | Promise<AcceptResult>;

export interface WebSocketEndpointOptions<T = unknown> {
  /** `json` (default), `text` or `binary`: the format of `messages`, `send` and roomcasts. */
  mode?: ChannelMode;
  /** json mode: checks (and may convert) each parsed value; throw to reject it. Zod's `schema.parse` fits. */
  validate?: (value: unknown) => T;
  /** What an undecodable message does: `close` with 1007 (default), `skip` it, or report it on `errors` and go on. */
  onInvalidMessage?: InvalidMessagePolicy;
  /** Called before the upgrade; may refuse (403) or choose one of the offered subprotocols. Default: accept, no subprotocol. */
  accept?: AcceptHook;
  /** The `Server` header of the 101 response. Default: none. */
  serverName?: string;
  /** Origin pattern with `{{host}}`, a RegExp, or a predicate. Default `https?://{{host}}` (same host). */
  allowedOrigin?: AllowedOrigin;
  /** Whether a request without an Origin header (CLI tools, servers) may connect. Default true. */
  allowMissingOrigin?: boolean;
  /** Period of keep-alive pings. Default 25 000 ms; 0 = no pings. */
  pingIntervalMs?: number;
  /** Close (terminate) when nothing (pong or message) arrived for this long. Default 60 000 ms; 0 = off. */
  idleTimeoutMs?: number;
  /** Terminate when pending writes make no progress for this long. Default 10 000 ms; 0 = off. */
  writeTimeoutMs?: number;
  /** How long `close()` waits for the peer's close frame before dropping TCP. Default 3 000 ms. */
  closeTimeoutMs?: number;
  /** Largest inbound message; bigger ones close the connection with 1009. Default 1 MiB; 0 = no limit. */
  maxMessageBytes?: number;
  /** json mode: deepest nesting of a message's arrays and objects; deeper is invalid (`ERR_JSON_TOO_DEEP`). Default 64; 0 = no bound. */
  maxJsonDepth?: number;
  /** Messages `send()` may queue before it waits (backpressure). Default 10; 0 = wait until written. */
  sendBuffer?: number;
  /** Inbound messages held for the handler before the socket is paused. Default 10 (at least 1). */
  recvBuffer?: number;
  /** Unsent bytes in the socket above which the queue stops feeding it. Default 64 KiB. */
  sendHighWaterMarkBytes?: number;
  /** A roomcast/broadcast (`deliver`) to a full send queue: `close` as a slow consumer (default) or `refuse` it. */
  queueOverflow?: 'close' | 'refuse';
  /** pino level of this endpoint's log lines (`silent` = go-macaron's SkipLogging). Default: the app's level. */
  logLevel?: LevelWithSilent;
}

export interface ResolvedEndpointOptions<T> {
  readonly mode: ChannelMode;
  readonly validate: ((value: unknown) => T) | undefined;
  readonly onInvalidMessage: InvalidMessagePolicy;
  readonly accept: AcceptHook | undefined;
  readonly serverName: string;
  readonly originCheck: OriginCheck;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxJsonDepth: number;
  readonly sendBuffer: number;
  readonly recvBuffer: number;
  readonly sendHighWaterMarkBytes: number;
  readonly queueOverflow: 'close' | 'refuse';
  readonly logLevel: LevelWithSilent | undefined;
}

export const ENDPOINT_DEFAULTS = {
  mode: 'json',
  onInvalidMessage: 'close',
  serverName: '',
  allowMissingOrigin: true,
  pingIntervalMs: 25_000,
  idleTimeoutMs: 60_000,
  writeTimeoutMs: 10_000,
  closeTimeoutMs: 3_000,
  maxMessageBytes: 1024 * 1024,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
  sendBuffer: 10,
  recvBuffer: 10,
  sendHighWaterMarkBytes: 64 * 1024,
  queueOverflow: 'close',
} as const;

function invalid(message: string): never {
  throw new RealtimeError('ERR_INVALID_OPTION', message);
}

function count(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) invalid(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function oneOf<V extends string>(name: string, value: V, allowed: readonly V[]): V {
  if (!allowed.includes(value)) invalid(`${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  return value;
}

export function resolveEndpointOptions<T>(options: WebSocketEndpointOptions<T>): ResolvedEndpointOptions<T> {
  const o = { ...ENDPOINT_DEFAULTS, ...stripUndefined(options) };
  for (const key of [
    'pingIntervalMs',
    'idleTimeoutMs',
    'writeTimeoutMs',
    'closeTimeoutMs',
    'maxMessageBytes',
    'maxJsonDepth',
  ] as const) {
    count(key, o[key], 0);
  }
  if (o.pingIntervalMs > 0 && o.idleTimeoutMs > 0 && o.pingIntervalMs >= o.idleTimeoutMs) {
    invalid(
      `pingIntervalMs (${o.pingIntervalMs}) must be shorter than idleTimeoutMs (${o.idleTimeoutMs}), or pongs can never arrive in time`,
    );
  }
  if (/[\r\n]/.test(o.serverName)) invalid('serverName must not contain line breaks');
  return {
    mode: oneOf('mode', o.mode, ['json', 'text', 'binary']),
    validate: options.validate,
    onInvalidMessage: oneOf('onInvalidMessage', o.onInvalidMessage, ['close', 'skip', 'error']),
    accept: options.accept,
    serverName: o.serverName,
    originCheck: compileOriginCheck(options.allowedOrigin ?? DEFAULT_ALLOWED_ORIGIN, o.allowMissingOrigin),
    pingIntervalMs: o.pingIntervalMs,
    idleTimeoutMs: o.idleTimeoutMs,
    writeTimeoutMs: o.writeTimeoutMs,
    closeTimeoutMs: o.closeTimeoutMs,
    maxMessageBytes: o.maxMessageBytes,
    maxJsonDepth: o.maxJsonDepth,
    sendBuffer: count('sendBuffer', o.sendBuffer, 0),
    recvBuffer: count('recvBuffer', o.recvBuffer, 1),
    sendHighWaterMarkBytes: count('sendHighWaterMarkBytes', o.sendHighWaterMarkBytes, 0),
    queueOverflow: oneOf('queueOverflow', o.queueOverflow, ['close', 'refuse']),
    logLevel: options.logLevel,
  };
}

function stripUndefined<O extends object>(options: O): Partial<O> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<O>;
}
