import { decode, encodeFrame } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { takeMatching } from './wait-for.js';

/**
 * A raw client of the legacy xhr-polling transport: a handshake GET, then one poll after
 * another (each held by the server up to its pollDurationMs) until `stop()` or an answer
 * other than 200. Every decoded message is recorded.
 */
export class LegacyPollClient {
  readonly messages: InboundMessage[] = [];
  /** Status of the poll that ended the loop: 404 once the session is gone, 0 once the server is. */
  endStatus: number | undefined;
  private isStopped = false;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly base: string,
    readonly sessionId: string,
  ) {}

  static async connect(baseUrl: string, resource = 'socket.io'): Promise<LegacyPollClient> {
    const base = `${baseUrl}/${resource}/xhr-polling`;
    const answer = await fetch(`${base}//${Date.now()}`);
    const decoded = decode(await answer.text());
    if (!decoded.ok || decoded.value[0]?.type !== 'text') throw new Error('no handshake');
    const client = new LegacyPollClient(base, decoded.value[0].data);
    client.record(decoded.value.slice(1));
    return client;
  }

  /** Starts polling in the background. */
  start(): this {
    this.loop = this.pollLoop();
    return this;
  }

  /** One poll, answered when the server has something or its poll deadline passes. */
  async pollOnce(): Promise<number> {
    const answer = await fetch(`${this.base}/${this.sessionId}/${Date.now()}`);
    const body = await answer.text();
    if (answer.status === 200 && body !== '') {
      const decoded = decode(body);
      if (!decoded.ok) throw decoded.error;
      this.record(decoded.value);
    }
    return answer.status;
  }

  async send(data: string): Promise<number> {
    const answer = await fetch(`${this.base}/${this.sessionId}/send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: 'data=' + encodeURIComponent(encodeFrame(data)),
    });
    await answer.text();
    return answer.status;
  }

  async nextMessage(
    predicate: (m: InboundMessage) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<InboundMessage> {
    return takeMatching(this.messages, predicate, { timeoutMs });
  }

  /** Stops after the poll now held; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.isStopped = true;
    await this.loop;
  }

  private async pollLoop(): Promise<void> {
    while (!this.isStopped) {
      // A refused connection (the server has gone) ends the loop with status 0.
      const status = await this.pollOnce().catch(() => 0);
      if (status !== 200) {
        this.endStatus = status;
        return;
      }
    }
  }

  private record(messages: InboundMessage[]): void {
    this.messages.push(...messages.filter((message) => message.type !== 'heartbeat'));
  }
}
