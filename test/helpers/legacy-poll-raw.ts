import { decode } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';

export interface PollAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/**
 * A raw client of the legacy xhr-polling transport over fetch, speaking the URLs the 0.6
 * client uses: `GET …/xhr-polling//<ts>` to open, `GET …/<sessionId>/<ts>` to poll,
 * `POST …/<sessionId>/send` with `data=<payload>` to send.
 */
export class LegacyPollClient {
  sessionId = '';

  constructor(
    readonly baseUrl: string,
    readonly resource = 'socket.io',
  ) {}

  /** Opens a session: the first poll answers with the session id frame. */
  async open(headers: Record<string, string> = {}): Promise<PollAnswer> {
    const answer = await this.get(`/${this.resource}/xhr-polling//${Date.now()}`, headers);
    const result = decode(answer.body);
    if (answer.status === 200 && result.ok && result.value[0]?.type === 'text') this.sessionId = result.value[0].data;
    return answer;
  }

  poll(headers: Record<string, string> = {}): Promise<PollAnswer> {
    return this.get(`/${this.resource}/xhr-polling/${this.sessionId}/${Date.now()}`, headers);
  }

  /** A poll's payload, decoded. */
  async pollMessages(): Promise<InboundMessage[]> {
    const answer = await this.poll();
    if (answer.status !== 200) throw new Error(`poll answered ${answer.status}: ${answer.body}`);
    const result = decode(answer.body);
    if (!result.ok) throw result.error;
    return result.value;
  }

  async send(payload: string, headers: Record<string, string> = {}): Promise<PollAnswer> {
    return this.request(`/${this.resource}/xhr-polling/${this.sessionId}/send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8', ...headers },
      body: 'data=' + encodeURIComponent(payload),
    });
  }

  get(path: string, headers: Record<string, string> = {}): Promise<PollAnswer> {
    return this.request(path, { headers });
  }

  async request(path: string, init: RequestInit): Promise<PollAnswer> {
    const response = await fetch(this.baseUrl + path, init);
    return { status: response.status, headers: response.headers, body: await response.text() };
  }
}
