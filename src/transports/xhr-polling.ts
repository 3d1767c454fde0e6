/**
 * xhr-polling (docs/protocol/socketio-0.6.md §4.5): each GET is held until something is queued or
 * `pollDurationMs` runs out, then answered with the whole queue as one payload (`text/plain`), or
 * with an empty body. The session waits for the next GET within its reconnect window.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { SessionPort } from '../session/transport.js';
import { BASE_HEADERS } from '../http/replies.js';
import type { CookieIssuer, HttpTransportModule, HttpTransportRequest } from './module.js';
import type { PreparedMessage } from '../hub/prepared.js';
import type { Transport, TransportName, WriteResult } from '../session/transport.js';

/**
 * One held poll. Subclasses (jsonp-polling) change only how the payload is wrapped.
 * The poll deadline is the one timer a transport owns.
 */
export class PollTransport implements Transport {
  readonly persistent = false;
  /** Settled when the response closes: delivered if it finished (the socket took every byte). */
  readonly confirmsDelivery = true;
  private isDone = false;
  private hasPayload = false;
  private isFlushed = false;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    readonly name: TransportName,
    private readonly res: ServerResponse,
    private readonly conn: SessionPort,
    private readonly headers: OutgoingHttpHeaders,
    private readonly wrap: (payload: string) => string,
    pollDurationMs: number,
    private readonly cookie: CookieIssuer | null = null,
  ) {
    this.deadline = setTimeout(answerEmpty, pollDurationMs, this);
    // Our own 'finish' flag: `res.writableFinished` reads true on a response whose socket was
    // destroyed with the bytes unsent (the socket's buffer is emptied), which would hide a loss.
    // And 'finish' itself comes when the last write's callback does, which Node also calls
    // (without an error) for a write cut short by the socket's destruction: not a delivery.
    // Each fires once per response: `on` spares the `once` wrapper every held poll would keep.
    const socket = res.socket;
    res.on('finish', () => {
      this.isFlushed = socket?.destroyed !== true;
    });
    res.on('close', () => {
      if (this.hasPayload) conn.settle(this, this.isFlushed);
      // Closed before it was answered: the client gave up on this poll (or lost it).
      this.finish(true);
    });
  }

  write(payload: string, _shared?: PreparedMessage, lastSeq = 0): WriteResult {
    if (this.isDone) return 'closed';
    if (this.res.destroyed) {
      // The client went away, possibly before this poll was attached (its 'close' event
      // then came too early to be heard): detach now, or the session would wait on it forever.
      this.finish(true);
      return 'closed';
    }
    const body = this.wrap(payload);
    this.hasPayload = payload !== '';
    const headers = { ...this.headers, 'Content-Length': Buffer.byteLength(body) };
    const cookies = this.cookie?.(lastSeq);
    this.res.writeHead(200, cookies === undefined ? headers : { ...headers, 'Set-Cookie': cookies });
    this.res.end(body);
    this.finish(false);
    return 'written';
  }

  /** Ends the poll normally: an empty answer, so the client simply polls again. */
  close(): void {
    if (!this.isDone) this.write('');
  }

  private finish(lost: boolean): void {
    if (this.isDone) return;
    this.isDone = true;
    clearTimeout(this.deadline);
    this.conn.detach(this, lost);
  }
}

function answerEmpty(transport: PollTransport): void {
  transport.close();
}

const identity = (payload: string): string => payload;

export const xhrPolling: HttpTransportModule = {
  name: 'xhr-polling',
  kind: 'http',
  attach({ res, conn, cors, options, cookie }: HttpTransportRequest): void {
    const headers = { ...BASE_HEADERS, ...cors, 'Content-Type': 'text/plain; charset=UTF-8' };
    conn.attach(new PollTransport('xhr-polling', res, conn, headers, identity, options.pollDurationMs, cookie));
  },
};
