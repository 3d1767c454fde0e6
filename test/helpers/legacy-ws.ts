import { WebSocket } from 'ws';
import { decode } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { waitFor } from './wait-for.js';

/**
 * A raw `ws` client of the legacy websocket transport that records every decoded message.
 * `sessionId` is the first frame, as the 0.6 client reads it.
 */
export class LegacyWsClient {
  readonly messages: InboundMessage[] = [];
  sessionId = '';
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const result = decode(data.toString());
      if (!result.ok) throw result.error;
      for (const message of result.value) {
        if (this.sessionId === '' && message.type === 'text') this.sessionId = message.data;
        else this.messages.push(message);
      }
    });
    ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  static async connect(url: string): Promise<LegacyWsClient> {
    const client = new LegacyWsClient(new WebSocket(url));
    await waitFor(() => client.sessionId !== '', { what: 'the session id frame' });
    return client;
  }

  send(payload: string): void {
    this.ws.send(payload);
  }

  async nextMessage(predicate: (m: InboundMessage) => boolean = () => true, timeoutMs = 5_000): Promise<InboundMessage> {
    let found: InboundMessage | undefined;
    await waitFor(
      () => {
        const index = this.messages.findIndex(predicate);
        if (index === -1) return false;
        found = this.messages.splice(index, 1)[0];
        return true;
      },
      { timeoutMs, what: 'a matching message' },
    );
    return found as InboundMessage;
  }

  close(): void {
    this.ws.close();
  }
}
