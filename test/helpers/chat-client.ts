/**
 * The chat demo's messages over a 0.6 websocket client (test/helpers/legacy-ws.ts): what the
 * page sends, and the next message of a type the server sent.
 */
import { encode } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import type { LegacyWsClient } from './legacy-ws.js';

export type ChatMessage = Record<string, unknown> & { type: string };

/** One chat request (`{join}`, `{say}`, `{leave}`) as a 0.6 JSON message. */
export function send(client: LegacyWsClient, value: object): void {
  client.send(encode([value]));
}

/** Takes the next chat message of `type` (waiting for it). */
export async function next(client: LegacyWsClient, type: string): Promise<ChatMessage> {
  const message = await client.nextMessage(
    (m: InboundMessage) => m.type === 'json' && (m.data as ChatMessage).type === type,
  );
  return message.data as ChatMessage;
}
