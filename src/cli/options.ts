/**
 * The command line's options: every server option of the library under the same name
 * (`maxConnections` is `--max-connections`, `SWITCHYARD_MAX_CONNECTIONS`, and
 * `"maxConnections"` in a config file) with the library's default, plus the few that only a
 * process has (port, host, Redis, log level, TLS files, the config file itself).
 */
import type { HttpLimitOptions } from '../http/limits.js';
import type { ServerOptions } from '../options.js';

/** How a value is read from text (a flag or an environment variable). */
export type Kind = 'number' | 'boolean' | 'string' | 'list' | 'number-or-false' | 'string-or-false' | 'string-or-list';

/**
 * Server options that hold code or objects: a library matter, not a command line's (the
 * command's `--redis` makes its adapter).
 */
type CodeOptions = 'authorize' | 'adapter' | 'instruments' | 'cluster';

/** Every server and HTTP-limit option, by kind; the compiler makes sure none is missing. */
export const SERVER_OPTION_KINDS = {
  resource: 'string',
  transports: 'list',
  origins: 'string-or-list',
  allowedHosts: 'list',
  trustProxy: 'list',
  maxConnections: 'number',
  maxConnectionsPerAddress: 'number',
  maxHandshakesPerSecondPerAddress: 'number',
  maxMessagesPerSecond: 'number',
  maxSessionDataBytes: 'number',
  lostPollGapMs: 'number',
  sessionCookie: 'string-or-false',
  relayTimeoutMs: 'number',
  heartbeatIntervalMs: 'number',
  heartbeatTimeoutMs: 'number',
  reconnectWindowMs: 'number',
  pollDurationMs: 'number',
  maxQueueMessages: 'number',
  maxQueueBytes: 'number',
  queueOverflow: 'string',
  maxFrameLength: 'number',
  maxJsonDepth: 'number',
  maxPayloadBytes: 'number',
  wsHighWaterMarkBytes: 'number',
  hixieHandshakeTimeoutMs: 'number',
  codec: 'string',
  serveClient: 'boolean',
  sacSockPath: 'string-or-false',
  sacSockMaxMessageBytes: 'number',
  sacSockOrigins: 'string-or-list',
  drainTimeoutMs: 'number',
  closeGraceMs: 'number',
  handleSignals: 'boolean',
  flashPolicyPort: 'number-or-false',
  metrics: 'boolean',
  health: 'boolean',
  dashboard: 'boolean',
  adminToken: 'string',
  maxHeaderBytes: 'number',
  headersTimeoutMs: 'number',
  requestTimeoutMs: 'number',
  keepAliveTimeoutMs: 'number',
  connectionTimeoutMs: 'number',
} as const satisfies Record<Exclude<keyof ServerOptions, CodeOptions> | keyof HttpLimitOptions, Kind>;

/** Options of the process itself. */
export const PROCESS_OPTION_KINDS = {
  config: 'string',
  port: 'number',
  host: 'string',
  redis: 'string',
  workers: 'number',
  logLevel: 'string',
  tlsCert: 'string',
  tlsKey: 'string',
  help: 'boolean',
  version: 'boolean',
} as const satisfies Record<string, Kind>;

export type ServerOptionName = keyof typeof SERVER_OPTION_KINDS;
export type ProcessOptionName = keyof typeof PROCESS_OPTION_KINDS;
export type OptionName = ServerOptionName | ProcessOptionName;

export const OPTION_KINDS: Record<OptionName, Kind> = { ...SERVER_OPTION_KINDS, ...PROCESS_OPTION_KINDS };

/**
 * Where the command line differs from the library, and why: an operator's process has its
 * health, metrics and dashboard on and drains on SIGTERM; the Flash policy listener (port 843
 * needs privileges) stays off unless `--flash-policy-port` asks for it.
 */
export const CLI_DEFAULTS = {
  port: 8080,
  host: '127.0.0.1',
  logLevel: 'info',
  workers: 1,
  metrics: true,
  health: true,
  dashboard: true,
  flashPolicyPort: false,
} as const;

/** Environment variables the process has always read, besides `SWITCHYARD_<NAME>`. */
export const CLASSIC_ENV: Partial<Record<OptionName, string>> = {
  port: 'PORT',
  host: 'HOST',
  redis: 'REDIS_URL',
  logLevel: 'LOG_LEVEL',
};

/** `maxConnections` → `max-connections`. */
export function flagName(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** `maxConnections` → `SWITCHYARD_MAX_CONNECTIONS`. */
export function envName(name: string): string {
  return `SWITCHYARD_${flagName(name).replace(/-/g, '_').toUpperCase()}`;
}

const BY_FLAG = new Map<string, OptionName>(
  (Object.keys(OPTION_KINDS) as OptionName[]).map((name) => [flagName(name), name]),
);

export function optionOfFlag(flag: string): OptionName | undefined {
  return BY_FLAG.get(flag);
}
