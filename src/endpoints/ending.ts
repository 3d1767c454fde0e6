/**
 * How a plain connection ends: the error that ends it, the state of a closing handshake, and
 * the three ways to wait for the end (`done`, `closed`, `signal`). The record is made when
 * first needed (an error, a close, someone waiting) and each way to wait on first use: most
 * connections are never asked, and a promise pair or an AbortController on every idle
 * connection would cost more than the connection.
 */
import type { RealtimeError } from '../errors.js';

/** A close status: the code and reason of the peer's close frame (1005 none, 1006 no frame at all). */
export interface CloseStatus {
  readonly code: number;
  readonly reason: string;
}

/** How a connection ended: the peer's status plus the error that ended it, if one did. */
export interface CloseInfo extends CloseStatus {
  readonly error?: RealtimeError;
  /** Queued messages that never reached the socket (0 unless the connection ended abruptly). */
  readonly lostMessages: number;
}

export class Ending {
  /** The first error reported that ends the connection; it becomes `done`'s `error`. */
  fatalError: RealtimeError | undefined = undefined;
  /** We asked for the close (`close()`, a policy, shutdown), not the peer. */
  isCloseRequested = false;
  /** The peer's close frame carried an invalid code: seehuhn reports that as 1005. */
  hadInvalidCloseCode = false;
  /** The close frame to send once the outbox has flushed. */
  pendingClose: { readonly code: number; readonly reason: string } | null = null;
  private info: CloseInfo | null = null;
  private abortReason: Error | null = null;
  private donePromise: Promise<CloseInfo> | null = null;
  private resolveDone: ((info: CloseInfo) => void) | null = null;
  private closedPromise: Promise<CloseStatus> | null = null;
  private resolveClosed: ((status: CloseStatus) => void) | null = null;
  private controller: AbortController | null = null;

  get isSettled(): boolean {
    return this.info !== null;
  }

  /** Resolves once the connection has ended. */
  done(): Promise<CloseInfo> {
    if (this.donePromise !== null) return this.donePromise;
    this.donePromise =
      this.info !== null ? Promise.resolve(this.info) : new Promise((resolve) => (this.resolveDone = resolve));
    return this.donePromise;
  }

  /** Resolves to the peer's close status. */
  closed(): Promise<CloseStatus> {
    if (this.closedPromise !== null) return this.closedPromise;
    const status = this.info === null ? null : statusOf(this.info);
    this.closedPromise =
      status !== null ? Promise.resolve(status) : new Promise((resolve) => (this.resolveClosed = resolve));
    return this.closedPromise;
  }

  /** Aborted once the connection has ended, with the error that ended it (or `ERR_CLOSED`). */
  signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.abortReason !== null) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** The connection has ended: `closed` resolves, `signal` aborts, then `done` resolves. */
  settle(info: CloseInfo, abortReason: Error): void {
    this.info = info;
    this.abortReason = abortReason;
    this.resolveClosed?.(statusOf(info));
    this.controller?.abort(abortReason);
    this.resolveDone?.(info);
    this.resolveClosed = null;
    this.resolveDone = null;
  }
}

function statusOf(info: CloseInfo): CloseStatus {
  return { code: info.code, reason: info.reason };
}
