/**
 * What the protocol clients of protocols.ts share: the client shape, the failure count, a
 * websocket or HTTP session opened from a chosen local address, a gate, the polling loop.
 */
import { WebSocket } from 'ws';
import { HttpClient } from './http-client.js';

export interface BenchClient {
  /**
   * Sends one message. Over HTTP it returns the send request's promise: a round trip of the
   * echo counts only once that request was answered too (see main.ts).
   */
  send(text: string): Promise<unknown> | void;
  close(): void;
}

export type OnMessage = (text: string) => void;

/** Sends that failed (a reset, a refused request); reported with the result, never thrown. */
export const failures = { count: 0, last: '' };

export function noteFailure(error: unknown): void {
  failures.count++;
  failures.last = error instanceof Error ? error.message : String(error);
}

/**
 * Opens one client. `from` is the local address to connect from (127.0.0.x): spread over
 * several, the clients are not limited to one address's ephemeral ports (scenario G).
 */
export type Connector = (port: number, onMessage: OnMessage, from?: string) => Promise<BenchClient>;

/** Each polling session has its own two connections (poll, send). */
export function http(port: number, from: string | undefined): HttpClient {
  return new HttpClient(port, from);
}

export function openWs(
  url: string,
  onText: (text: string, ws: WebSocket) => void,
  from: string | undefined,
  subprotocol?: string,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const protocols = subprotocol === undefined ? [] : [subprotocol];
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, localAddress: from });
    ws.on('message', (data) => onText(data.toString(), ws));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Waits for a condition a message handler sets (the handshake frame, say). */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export const FORM = 'application/x-www-form-urlencoded';

/** A send answered with anything but 200 is a failure (reported, never thrown). */
export function isOk(answer: { status: number; body: string }): void {
  if (answer.status !== 200) noteFailure(new Error(`send answered ${answer.status}: ${answer.body.slice(0, 80)}`));
}

/** Keeps one poll outstanding until stopped. */
export class Poller {
  private isStopped = false;

  constructor(
    private readonly poll: () => Promise<{ status: number; body: string }>,
    private readonly onBody: (body: string) => void,
  ) {
    void this.loop();
  }

  stop(): void {
    this.isStopped = true;
  }

  private async loop(): Promise<void> {
    while (!this.isStopped) {
      let answer;
      try {
        answer = await this.poll();
      } catch (error) {
        // The server closed the poll: the session is over for this run.
        noteFailure(error);
        return;
      }
      if (this.isStopped || answer.status !== 200) return;
      this.onBody(answer.body);
    }
  }
}
