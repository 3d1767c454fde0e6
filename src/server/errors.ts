/**
 * How the server reports what goes wrong, and how it calls application listeners so that
 * nothing they do escapes: every listener is called on its own, a throw or a rejected promise
 * becomes an `error` event (with the session it concerns), and a failing `error` listener is
 * only logged, never reported again (that could loop forever).
 */
import type { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { RealtimeError } from '../errors.js';
import { redactSessionId } from '../hub/ids.js';

/** What a report may concern: a 0.6 session, or nothing in particular. */
export interface Reported {
  readonly sessionId: string;
}

export class ErrorReporter<S extends Reported & object> {
  constructor(
    private readonly server: EventEmitter,
    private readonly log: () => FastifyBaseLogger | undefined,
  ) {}

  /** Logs `error` at the level it deserves and hands it to the server's and session's `error` listeners. */
  report(error: unknown, session?: S): void {
    const wrapped =
      error instanceof Error
        ? error
        : new RealtimeError('ERR_HANDLER_FAILED', `a handler failed: ${String(error)}`, { cause: error });
    const entry = { err: wrapped, sessionId: session && redactSessionId(session.sessionId) };
    const log = this.log();
    // A client's bad input is the client's fault: at error level it would let anyone flood the log.
    if (wrapped instanceof RealtimeError && wrapped.httpStatus < 500) log?.debug(entry, 'client error');
    else if (wrapped instanceof RealtimeError && wrapped.code === 'ERR_DELIVERY_FAILED') log?.warn(entry, 'lost');
    else log?.error(entry, 'switchyard error');
    this.notify(this.server, [wrapped, session]);
    if (session !== undefined) this.notify(session, [wrapped]);
  }

  /**
   * Calls each listener of `event` on its own, the way `emit` would: a throw or a rejected
   * promise is reported with its session and never keeps the other listeners (another
   * handler, the session's own listeners) from running, nor reaches the transport.
   */
  dispatch(target: object, event: string, args: unknown[], session?: S): void {
    const emitter = target as EventEmitter;
    for (const listener of emitter.rawListeners(event) as ((...values: unknown[]) => unknown)[]) {
      try {
        const result = listener.apply(emitter, args);
        if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.report(error, session));
      } catch (error) {
        this.report(error, session);
      }
    }
  }

  /** Server and session `error` listeners, each on its own; their own failures are only logged. */
  private notify(target: object, args: unknown[]): void {
    const emitter = target as EventEmitter;
    const logFailure = (failure: unknown) => this.log()?.warn({ err: failure }, 'an error listener failed');
    for (const listener of emitter.rawListeners('error') as ((...values: unknown[]) => unknown)[]) {
      try {
        const result = listener.apply(emitter, args);
        if (isPromiseLike(result)) result.then(undefined, logFailure);
      } catch (failure) {
        logFailure(failure);
      }
    }
  }
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
