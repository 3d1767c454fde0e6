/**
 * The persistent half of the streaming HTTP transports (htmlfile, xhr-multipart): one
 * response held open for the session's life, one chunk written per payload. The framing
 * of each chunk belongs to the transport module that makes it.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { SessionPort } from '../session/transport.js';
import { BASE_HEADERS } from '../http/replies.js';
import type { HttpTransportRequest } from './module.js';
import type { Transport, TransportName, WriteResult } from '../session/transport.js';
import { WriteSettlement } from '../wire/write-settlement.js';
import { waitForDrain } from '../wire/overflow.js';

export class HttpStreamTransport implements Transport {
  readonly persistent = true;
  /** Each chunk is settled by its `res.write` callback (see {@link WriteSettlement}). */
  readonly confirmsDelivery = true;
  private isClosed = false;
  /** @internal (DrainWaiter) */
  isWaitingForDrain = false;
  private readonly settlement: WriteSettlement;

  constructor(
    readonly name: TransportName,
    private readonly res: ServerResponse,
    private readonly conn: SessionPort,
    private readonly frame: (payload: string) => string,
  ) {
    // Kept: the response lets go of its socket once it ends.
    const socket = res.socket;
    this.settlement = new WriteSettlement(this, conn, () => socket?.destroyed === true);
    // Every payload must reach the browser at once; Nagle would hold small chunks back.
    res.socket?.setNoDelay(true);
    // 'close' fires once: `on` spares the `once` wrapper each open stream would keep.
    res.on('close', () => {
      this.isClosed = true;
      this.settlement.onSocketClosed();
      conn.detach(this);
    });
  }

  write(payload: string): WriteResult {
    if (this.isClosed || this.res.destroyed || this.res.writableEnded) return 'closed';
    this.settlement.began();
    if (this.res.write(this.frame(payload), this.settlement.onWritten)) return 'written';
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
    waitForDrain(this.res, this);
  }

  /** @internal (DrainWaiter) */
  isBackedUp(): boolean {
    return false;
  }

  /** @internal (DrainWaiter) */
  drained(): void {
    this.conn.onDrain(this);
  }
}

/** What a streaming transport module adds: its name, content type, first bytes and chunk framing. */
export interface StreamFraming {
  readonly name: TransportName;
  readonly contentType: string;
  readonly preamble: string;
  readonly frame: (payload: string) => string;
}

/** Opens the held response (200, keep-alive), writes the preamble and attaches the stream. */
export function attachStream({ res, conn, cors, cookie }: HttpTransportRequest, framing: StreamFraming): void {
  const headers: OutgoingHttpHeaders = {
    ...BASE_HEADERS,
    ...cors,
    'Content-Type': framing.contentType,
    Connection: 'keep-alive',
  };
  // A stream carries no acknowledgements: its cookie only names the session, for a resume.
  const cookies = cookie?.(0);
  if (cookies !== undefined) headers['Set-Cookie'] = cookies;
  res.writeHead(200, headers);
  res.write(framing.preamble);
  conn.attach(new HttpStreamTransport(framing.name, res, conn, framing.frame));
}
