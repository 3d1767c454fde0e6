/**
 * seehuhn's receive methods over one whole inbound message: `receiveMessage`'s `{ type, body }`,
 * `receiveText`'s limit with a prefix cut at a code point, `receiveBinary`'s copy into the
 * caller's buffer. Pure; the connection takes the message from its queue.
 */
import { bytesOf, fragmentsOf, typeOf, type WireMessage } from './channels.js';
import { MessageTypeError, TooLargeError, type MessageType } from './errors.js';

/** A message as `receiveMessage()` hands it out: its type and its body as a stream of frames. */
export interface ReceivedMessage {
  readonly type: MessageType;
  readonly body: AsyncIterable<Uint8Array>;
}

/** `{ type, body }`: a binary body yields its frames' payloads as they arrived, a text one one chunk. */
export function receivedMessage(message: WireMessage): ReceivedMessage {
  const fragments = fragmentsOf(message);
  return {
    type: typeOf(message),
    body: (async function* () {
      for (const fragment of fragments) yield new Uint8Array(fragment.buffer, fragment.byteOffset, fragment.byteLength);
    })(),
  };
}

/**
 * The message as text, at most `maxLength` UTF-8 bytes. A binary message throws
 * `MessageTypeError`; a longer one `TooLargeError` with `partial`, the longest prefix that
 * ends on a code-point boundary.
 */
export function textWithin(message: WireMessage, maxLength: number): string {
  const type = typeOf(message);
  if (type !== 'text') throw new MessageTypeError('text', type);
  const bytes = bytesOf(message);
  if (bytes.length <= maxLength) return bytes.toString('utf8');
  const partial = bytes.subarray(0, codePointBoundary(bytes, maxLength)).toString('utf8');
  throw new TooLargeError(
    `a text message of ${bytes.length} bytes exceeds ${maxLength}`,
    maxLength,
    bytes.length,
    partial,
  );
}

/**
 * Copies a binary message into `buffer` and returns its length. A text message throws
 * `MessageTypeError`; a longer one fills `buffer` and throws `TooLargeError` (`partial` =
 * bytes copied).
 */
export function copyBinary(message: WireMessage, buffer: Uint8Array): number {
  const type = typeOf(message);
  if (type !== 'binary') throw new MessageTypeError('binary', type);
  const bytes = bytesOf(message);
  const copied = bytes.copy(buffer, 0, 0, Math.min(bytes.length, buffer.length));
  if (bytes.length > buffer.length) {
    throw new TooLargeError(
      `a binary message of ${bytes.length} bytes exceeds ${buffer.length}`,
      buffer.length,
      bytes.length,
      copied,
    );
  }
  return copied;
}

/** The largest cut ≤ `limit` that does not split a UTF-8 sequence. */
export function codePointBoundary(bytes: Buffer, limit: number): number {
  let cut = limit;
  // Continuation bytes look like 10xxxxxx; step back to the lead byte of the cut sequence.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  return cut;
}
