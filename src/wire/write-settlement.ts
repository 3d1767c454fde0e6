/**
 * Delivery settlement shared by the persistent transports that write to a socket themselves
 * (hixie drafts, htmlfile, xhr-multipart): each write is settled with the session by its
 * socket write callback, and whatever is still pending when the socket closes counts as
 * undelivered then (later callbacks are ignored). Node never calls the callback of a write
 * made to a socket already destroyed, and calls the callback of a write cut short by the
 * destruction without an error: a callback that finds the socket destroyed counts as
 * undelivered too.
 */
/** Who hears of each settled write: a 0.6 session (`Conn.settle`). */
export interface SettlementSink<T> {
  settle(transport: T, delivered: boolean): void;
}

export class WriteSettlement<T = unknown> {
  /** Writes whose callback has not come yet. */
  private pending = 0;

  /** The callback to give the socket write that {@link began} counted. */
  readonly onWritten = (error?: Error | null): void => {
    if (this.pending === 0) return;
    this.pending--;
    this.conn.settle(this.transport, error == null && !this.isSocketDestroyed());
  };

  constructor(
    private readonly transport: T,
    private readonly conn: SettlementSink<T>,
    private readonly isSocketDestroyed: () => boolean,
  ) {}

  /** A write is handed to the socket; its callback must be {@link onWritten}. */
  began(): void {
    this.pending++;
  }

  /** The write {@link began} counted handed nothing over after all. */
  withdrew(): void {
    this.pending--;
  }

  /** The socket closed: every write still pending is undelivered. */
  onSocketClosed(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.conn.settle(this.transport, false);
  }
}
