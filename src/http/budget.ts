/**
 * The server's one connection budget: `maxConnections` and `maxConnectionsPerAddress` count
 * everything a client can hold open — 0.6 sessions, sac-sock sockets, plain connections.
 * Nothing here is module-level: each server has its own.
 */
import { RealtimeError } from '../errors.js';
import type { Release } from '../hub/results.js';

export interface BudgetLimits {
  /** Most connections at once; 0 = unlimited. */
  readonly maxConnections: number;
  /** Most connections per remote address; 0 = unlimited. */
  readonly maxConnectionsPerAddress: number;
}

export class ConnectionBudget {
  private readonly perAddress = new Map<string, number>();
  private count = 0;

  constructor(private readonly limits: BudgetLimits) {}

  /** Connections counted now. */
  get total(): number {
    return this.count;
  }

  /** The refusal a new connection from `remoteAddress` would get now, or null. */
  check(remoteAddress: string): RealtimeError | null {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (maxConnections > 0 && this.count >= maxConnections) {
      return new RealtimeError('ERR_SERVER_FULL', `the server holds its maximum of ${maxConnections} connections`);
    }
    const fromAddress = this.perAddress.get(remoteAddress) ?? 0;
    if (maxConnectionsPerAddress > 0 && fromAddress >= maxConnectionsPerAddress) {
      return new RealtimeError(
        'ERR_TOO_MANY_SESSIONS_FROM_ADDRESS',
        `this address holds its maximum of ${maxConnectionsPerAddress} connections`,
      );
    }
    return null;
  }

  /** Counts one connection, or refuses it. The caller pairs it with one {@link remove}. */
  add(remoteAddress: string): RealtimeError | null {
    const refusal = this.check(remoteAddress);
    if (refusal !== null) return refusal;
    this.countOne(remoteAddress);
    return null;
  }

  /**
   * Counts a connection that exists already and must not be refused: a session taken over from
   * a node that died (its client was admitted there). Paired with one {@link remove}.
   */
  addExisting(remoteAddress: string): void {
    this.countOne(remoteAddress);
  }

  private countOne(remoteAddress: string): void {
    this.count++;
    this.perAddress.set(remoteAddress, (this.perAddress.get(remoteAddress) ?? 0) + 1);
  }

  remove(remoteAddress: string): void {
    this.count--;
    const left = (this.perAddress.get(remoteAddress) ?? 0) - 1;
    if (left > 0) this.perAddress.set(remoteAddress, left);
    else this.perAddress.delete(remoteAddress);
  }

  /** {@link add} with its release (idempotent), for connections that end through a socket 'close'. */
  reserve(remoteAddress: string): RealtimeError | Release {
    const refusal = this.add(remoteAddress);
    if (refusal !== null) return refusal;
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      this.remove(remoteAddress);
    };
  }
}
