/**
 * The persistent half of the streaming HTTP transports (htmlfile, xhr-multipart): one
 * response held open for the session's life, one chunk written per payload. The framing
 * of each chunk belongs to the transport module that makes it.
 */
import type { ServerResponse } from 'node:http';
import type { Conn } from '../session/conn.js';
import type { Transport, TransportName, WriteResult } from './types.js';

export class HttpStreamTransport implements Transport {
  readonly persistent = true;
  /**
   * Each chunk is settled by its `res.write` callback: delivered once the socket took every
   * byte, undelivered when it failed. Node never calls the callback of a write made to a
   * socket already destroyed, so whatever is still pending when the response closes counts
   * as undelivered then (and later callbacks are ignored); and it calls the callback of a
   * write cut short by the destruction without an error, so a callback that finds the socket
   * destroyed counts as undelivered too.
   */
  readonly confirmsDelivery = true;
  private isClosed = false;
  private isWaitingForDrain = false;
  /** Writes whose callback has not come yet. */
  private pending = 0;
  private readonly onWritten = (error?: Error | null): void => {
    if (this.pending === 0) return;
    this.pending--;
    this.conn.settle(this, error == null && this.socket?.destroyed !== true);
  };
  /** Kept: the response lets go of its socket once it ends. */
  private readonly socket: ServerResponse['socket'];

  constructor(
    readonly name: TransportName,
    private readonly res: ServerResponse,
    private readonly conn: Conn,
    private readonly frame: (payload: string) => string,
  ) {
    this.socket = res.socket;
    // Every payload must reach the browser at once; Nagle would hold small chunks back.
    res.socket?.setNoDelay(true);
    res.once('close', () => {
      this.isClosed = true;
      if (this.pending > 0) {
        this.pending = 0;
        conn.settle(this, false);
      }
      conn.detach(this);
    });
  }

  write(payload: string): WriteResult {
    if (this.isClosed || this.res.destroyed || this.res.writableEnded) return 'closed';
    this.pending++;
    if (this.res.write(this.frame(payload), this.onWritten)) return 'written';
    this.waitForDrain();
    return 'buffered';
  }

  /** Ends the stream; the browser notices through its silence timer (the protocol has no goodbye). */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.res.end();
  }

  private waitForDrain(): void {
    if (this.isWaitingForDrain) return;
    this.isWaitingForDrain = true;
    this.res.once('drain', () => {
      this.isWaitingForDrain = false;
      this.conn.onDrain(this);
    });
  }
}
