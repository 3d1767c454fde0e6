import { WebSocket, type ClientOptions } from 'ws';
import { decode } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { takeMatching, waitFor } from './wait-for.js';

/**
 * A raw `ws` client of the legacy websocket transport that records every decoded message.
 * `sessionId` is the first frame, as the 0.6 client reads it.
 */
export class LegacyWsClient {
  readonly messages: InboundMessage[] = [];
  /** Every websocket message as it arrived, undecoded. */
  readonly payloads: string[] = [];
  sessionId = '';
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.payloads.push(data.toString());
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

  /** `options`: ws' client options (`ca` for a test certificate, headers). */
  static async connect(url: string, options?: ClientOptions): Promise<LegacyWsClient> {
    const client = new LegacyWsClient(new WebSocket(url, options));
    client.ws.on('error', () => undefined);
    try {
      await waitFor(() => client.sessionId !== '' || client.closeCode !== undefined, { what: 'the session id frame' });
      if (client.sessionId === '') throw new Error(`closed before the session id frame (${client.closeCode})`);
    } catch (error) {
      // A handshake that took too long must not leave its socket (and a live session) behind.
      client.ws.terminate();
      throw error;
    }
    return client;
  }

  /** Re-attaches to a live session (`/socket.io/websocket/<sessionId>`): no id frame comes. */
  static async reattach(url: string, sessionId: string): Promise<LegacyWsClient> {
    const client = new LegacyWsClient(new WebSocket(url));
    client.sessionId = sessionId;
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve());
      client.ws.once('error', reject);
    });
    return client;
  }

  send(payload: string): void {
    this.ws.send(payload);
  }

  async nextMessage(
    predicate: (m: InboundMessage) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<InboundMessage> {
    return takeMatching(this.messages, predicate, { timeoutMs });
  }

  close(): void {
    this.ws.close();
  }
}
