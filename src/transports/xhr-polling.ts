/**
 * xhr-polling (docs/protocol/socketio-0.6.md §4.5): each GET is held until something is queued or
 * `pollDurationMs` runs out, then answered with the whole queue as one payload (`text/plain`), or
 * with an empty body. The session waits for the next GET within its reconnect window.
 *
 * A held poll costs no Node timer and no closure: its deadline is an entry in the resource's
 * one list (hub/timer-lists.ts), its response's two events go to module-level listeners that
 * find the poll on the response, and its answer is one `writeHead` of headers made once per
 * Origin (answer-headers.ts) and one `end`.
 */
import type { ServerResponse } from 'node:http';
import type { SessionPort } from '../session/transport.js';
import type { TimerList } from '../hub/timer-lists.js';
import type { CookieIssuer, HttpTransportModule, HttpTransportRequest, PollDeadline } from './module.js';
import type { PreparedMessage } from '../hub/prepared.js';
import type { Transport, TransportName, WriteResult } from '../session/transport.js';

/** Where a response keeps the poll it answers (read by the module-level listeners). */
const POLL = Symbol('poll');

type PollResponse = ServerResponse & { [POLL]?: PollTransport };

/**
 * One held poll. Subclasses (jsonp-polling) change only how the payload is wrapped.
 * `headers` is a flat `[name, value, …]` list without Content-Length and Set-Cookie.
 */
export class PollTransport implements Transport, PollDeadline {
  readonly persistent = false;
  /** Settled when the response closes: delivered if it finished (the socket took every byte). */
  readonly confirmsDelivery = true;
  private isDone = false;
  private hasPayload = false;
  private isFlushed = false;
  /** The response's socket, read now: by 'finish' Node has detached it from the response. */
  private readonly socket: ServerResponse['socket'];

  constructor(
    readonly name: TransportName,
    private readonly res: ServerResponse,
    private readonly conn: SessionPort,
    private readonly headers: readonly string[],
    private readonly wrap: (payload: string) => string,
    private readonly deadlines: TimerList<PollDeadline>,
    private readonly cookie: CookieIssuer | null = null,
  ) {
    deadlines.add(this);
    this.socket = res.socket;
    // Our own 'finish' flag: `res.writableFinished` reads true on a response whose socket was
    // destroyed with the bytes unsent (the socket's buffer is emptied), which would hide a loss.
    // And 'finish' itself comes when the last write's callback does, which Node also calls
    // (without an error) for a write cut short by the socket's destruction: not a delivery.
    // Each fires once per response: `on` spares the `once` wrapper every held poll would keep.
    (res as PollResponse)[POLL] = this;
    res.on('finish', onFinish);
    res.on('close', onClose);
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
    const cookies = this.cookie?.(lastSeq);
    const headers: (string | number | string[])[] = [...this.headers, 'Content-Length', Buffer.byteLength(body)];
    if (cookies !== undefined) headers.push('Set-Cookie', cookies);
    this.res.writeHead(200, headers as string[]);
    this.res.end(body);
    this.finish(false);
    return 'written';
  }

  /** Ends the poll normally: an empty answer, so the client simply polls again. */
  close(): void {
    if (!this.isDone) this.write('');
  }

  /** @internal (PollDeadline) `pollDurationMs` has passed: an empty answer. */
  expire(): void {
    this.close();
  }

  /** @internal the response finished */
  finished(): void {
    this.isFlushed = this.socket?.destroyed !== true;
  }

  /** @internal the response closed */
  closed(): void {
    if (this.hasPayload) this.conn.settle(this, this.isFlushed);
    // Closed before it was answered: the client gave up on this poll (or lost it).
    this.finish(true);
  }

  private finish(lost: boolean): void {
    if (this.isDone) return;
    this.isDone = true;
    this.deadlines.delete(this);
    this.conn.detach(this, lost);
  }
}

function onFinish(this: PollResponse): void {
  this[POLL]?.finished();
}

function onClose(this: PollResponse): void {
  this[POLL]?.closed();
}

const identity = (payload: string): string => payload;

export const xhrPolling: HttpTransportModule = {
  name: 'xhr-polling',
  kind: 'http',
  attach({ res, conn, answer, pollDeadlines, cookie }: HttpTransportRequest): void {
    conn.attach(new PollTransport('xhr-polling', res, conn, answer.poll, identity, pollDeadlines, cookie));
  },
};
