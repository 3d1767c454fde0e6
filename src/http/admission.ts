/**
 * The one admission path: every request of every family (a 0.6 handshake, poll, send or
 * upgrade; a sac-sock or plain endpoint upgrade) passes these checks, in this order, before
 * it may open or use a session: the server is not shutting down (for a new session), the
 * Host is one of `allowedHosts`, the address is within its handshake rate (for a new
 * session), the Origin passes the family's rule, the application's `authorize` hook agrees. A family that
 * opens a connection then reserves it in the connection budget. Each family supplies only
 * its Origin rule; what a refusal looks like (JSON 4xx/5xx before an upgrade) is the same.
 */
import type { IncomingMessage } from 'node:http';
import { RealtimeError } from '../errors.js';
import type { Release } from '../hub/results.js';

/** Decides, once per request (HTTP or upgrade), whether it may go on. */
export type AuthorizeHook = (request: IncomingMessage) => boolean | Promise<boolean>;

/** A family's Origin rule: an allow-list, the same-origin rule, a pattern. */
export type OriginPolicy = (req: IncomingMessage) => boolean | Promise<boolean>;

/** What admission needs from the server that owns it. */
export interface AdmissionHost {
  isShuttingDown(): boolean;
  /** The client's address (the peer's, or a trusted proxy's X-Forwarded-For). */
  clientAddress(req: IncomingMessage): string;
  /** `allowedHosts`: whether the Host header names this server (against DNS rebinding). */
  isHostAllowed(host: string | undefined): boolean;
  /** The handshake rate per address: whether a new session from `address` may start now. */
  allowHandshake(address: string): boolean;
  /** Hears of a throwing or rejecting `authorize` hook (the request is refused with 401). */
  reportError(error: unknown): void;
  /** Counts one connection in `maxConnections` / `maxConnectionsPerAddress`, or refuses it. */
  reserve(remoteAddress: string): RealtimeError | Release;
}

export interface AdmissionRules {
  readonly origin: OriginPolicy;
  readonly authorize: AuthorizeHook | undefined;
}

export class Admission {
  constructor(
    private readonly rules: AdmissionRules,
    private readonly host: AdmissionHost,
  ) {}

  /**
   * Null when the request may go on. `opensSession` false: a poll or send of a session that
   * exists, let through while the server drains so its queue can flush.
   */
  async check(req: IncomingMessage, opensSession = true): Promise<RealtimeError | null> {
    if (opensSession && this.host.isShuttingDown()) {
      return new RealtimeError('ERR_SHUTTING_DOWN', 'the server is shutting down');
    }
    if (!this.host.isHostAllowed(req.headers.host)) {
      return new RealtimeError('ERR_HOST_REFUSED', 'this Host is not one of allowedHosts');
    }
    if (opensSession && !this.host.allowHandshake(this.host.clientAddress(req))) {
      return new RealtimeError('ERR_RATE_LIMITED', 'too many new sessions from this address; try again shortly');
    }
    const origin = this.rules.origin(req);
    if (origin === false || (origin !== true && !(await origin))) {
      return new RealtimeError('ERR_ORIGIN_REFUSED', 'this origin is not allowed');
    }
    if (!(await this.isAuthorized(req))) {
      return new RealtimeError('ERR_UNAUTHORIZED', 'the authorization hook refused this request');
    }
    return null;
  }

  /** Counts the request's connection in the budget: the release, or the refusal. */
  reserve(req: IncomingMessage): RealtimeError | Release {
    return this.host.reserve(this.host.clientAddress(req));
  }

  /** A hook that throws or rejects refuses (401); its failure is reported. */
  private async isAuthorized(req: IncomingMessage): Promise<boolean> {
    const authorize = this.rules.authorize;
    if (authorize === undefined) return true;
    try {
      return await authorize(req);
    } catch (error) {
      this.host.reportError(error);
      return false;
    }
  }
}
