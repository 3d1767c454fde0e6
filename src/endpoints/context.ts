/**
 * What every connection of one plain endpoint shares: its options, timer lists,
 * the host's seams (instruments, errors) and its log. One object per endpoint, so each
 * connection holds one pointer for all of it rather than a field (or a closure) apiece.
 */
import type { FastifyBaseLogger as Logger } from 'fastify';
import { levels, pino } from 'pino';
import type { Host } from '../hub/host.js';
import type { Instruments } from '../hub/instruments.js';
import { KeepAlive } from './keep-alive.js';
import type { ResolvedEndpointOptions } from './options.js';

/** Told when a connection has ended (the endpoint forgets it). */
export interface EndedListener<C> {
  ended(conn: C): void;
}

/** A stand-in for a server without a logger (made once, shared by every endpoint). */
const SILENT: Logger = pino({ level: 'silent' });
const DEBUG = levels.values.debug as number;

export class ConnectionContext<T, C = unknown> {
  readonly keepAlive: KeepAlive;
  readonly instruments: Instruments;
  /** The endpoint's child logger, made on first use (the server has its logger once mounted). */
  private logger: Logger | undefined;

  constructor(
    readonly path: string,
    readonly options: ResolvedEndpointOptions<T>,
    private readonly host: Host,
    private readonly listener: EndedListener<C>,
  ) {
    this.keepAlive = new KeepAlive(options);
    this.instruments = host.instruments;
  }

  /** Reports a failure of application code (the server's `error` event). */
  reportError(error: unknown): void {
    this.host.reportError(error);
  }

  ended(conn: C): void {
    this.listener.ended(conn);
  }

  /**
   * Logs a connection's line at debug, with `endpoint` and `remoteAddress`. The fields are
   * made only when the level is on: most servers never log a connection's lines, and a
   * child logger per connection would sit on every idle one.
   */
  debug(conn: { readonly remoteAddress: string }, message: string, fields?: Record<string, unknown>): void {
    const log = this.log();
    // A level pino does not know (a custom one) is left to pino to decide.
    if (log.level === 'silent' || (levels.values[log.level] ?? DEBUG) > DEBUG) return;
    log.debug({ remoteAddress: conn.remoteAddress, ...fields }, message);
  }

  private log(): Logger {
    if (this.logger !== undefined) return this.logger;
    const parent = this.host.log();
    if (parent === undefined) return SILENT;
    const bindings = { endpoint: this.path };
    const level = this.options.logLevel;
    this.logger = level === undefined ? parent.child(bindings) : parent.child(bindings, { level });
    return this.logger;
  }
}
