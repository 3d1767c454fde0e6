/**
 * The three channel modes of go-macaron/sockets, chosen explicitly (no inference from a
 * type's kind): how an inbound message becomes a value and how a value becomes a frame.
 *
 * | mode     | inbound text          | inbound binary                 | outbound            |
 * | -------- | --------------------- | ------------------------------ | ------------------- |
 * | `json`   | `JSON.parse`          | UTF-8 (strict) then JSON.parse | text frame, JSON    |
 * | `text`   | the string            | UTF-8 (strict)                 | text frame          |
 * | `binary` | the bytes             | the bytes                      | binary frame        |
 *
 * Pure functions; the connection applies the invalid-message policy.
 */
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, tooDeep } from '../codecs/json-depth.js';
import { RealtimeError } from '../errors.js';
import { jsonTextOf, type PreparedMessage } from '../hub/prepared.js';
import type { MessageType } from './errors.js';
import type { ChannelMode } from './options.js';

/** One whole inbound message as `ws` assembled it: the payloads of its frames, in order. */
export interface InboundMessage {
  readonly type: MessageType;
  readonly fragments: readonly Buffer[];
}

/** One outbound frame's data and opcode. */
export interface Outgoing {
  readonly data: string | Buffer;
  readonly binary: boolean;
}

export type Decoded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RealtimeError };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function joinFragments(fragments: readonly Buffer[]): Buffer {
  return fragments.length === 1 ? (fragments[0] as Buffer) : Buffer.concat(fragments);
}

function textOf(message: InboundMessage): Decoded<string> {
  const bytes = joinFragments(message.fragments);
  // ws has already validated text messages (close 1007 otherwise); binary ones are checked here.
  if (message.type === 'text') return { ok: true, value: bytes.toString('utf8') };
  try {
    return { ok: true, value: strictUtf8.decode(bytes) };
  } catch (cause) {
    return {
      ok: false,
      error: new RealtimeError('ERR_INVALID_UTF8', 'a binary message is not valid UTF-8', { cause }),
    };
  }
}

function jsonOf<T>(
  message: InboundMessage,
  validate: ((value: unknown) => T) | undefined,
  maxJsonDepth: number,
): Decoded<T> {
  const text = textOf(message);
  if (!text.ok) return text;
  if (exceedsJsonDepth(text.value, maxJsonDepth)) return { ok: false, error: tooDeep(maxJsonDepth) };
  let value: unknown;
  try {
    value = JSON.parse(text.value);
  } catch (cause) {
    return {
      ok: false,
      error: new RealtimeError('ERR_MALFORMED_FRAME', `a message is not valid JSON: ${String(cause)}`, { cause }),
    };
  }
  if (validate === undefined) return { ok: true, value: value as T };
  try {
    return { ok: true, value: validate(value) };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return {
      ok: false,
      error: new RealtimeError('ERR_MALFORMED_FRAME', `a message failed validation: ${reason}`, { cause }),
    };
  }
}

/** Decodes one inbound message in `mode`. */
export function decodeMessage<T>(
  mode: ChannelMode,
  message: InboundMessage,
  validate?: (value: unknown) => T,
  maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
): Decoded<T> {
  if (mode === 'json') return jsonOf(message, validate, maxJsonDepth);
  if (mode === 'text') return textOf(message) as Decoded<T>;
  const bytes = joinFragments(message.fragments);
  return { ok: true, value: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) as T };
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Encodes a value for `mode`. json: JSON text. text: a string as is, anything else as JSON.
 * binary: bytes as is, a string as UTF-8, anything else as JSON in UTF-8. Throws
 * `ERR_INVALID_MESSAGE` for a value with no JSON form.
 */
export function encodeValue(mode: ChannelMode, value: unknown): Outgoing {
  if (mode === 'json') return { data: jsonTextOf(value), binary: false };
  if (mode === 'text') return { data: typeof value === 'string' ? value : jsonTextOf(value), binary: false };
  if (value instanceof Uint8Array) return { data: asBuffer(value), binary: true };
  if (value instanceof ArrayBuffer) return { data: Buffer.from(value), binary: true };
  return { data: Buffer.from(typeof value === 'string' ? value : jsonTextOf(value), 'utf8'), binary: true };
}

/** The format key under which a roomcast is encoded once for every plain connection of `mode`. */
export function formatKey(mode: ChannelMode): string {
  return `plain:${mode}`;
}

/** The encoding of a fan-out message for `mode`, shared by every recipient of that mode. */
export function encodePrepared(mode: ChannelMode, message: PreparedMessage): Outgoing {
  return message.encoded(formatKey(mode), (prepared) =>
    mode === 'json' ? { data: prepared.jsonText(), binary: false } : encodeValue(mode, prepared.value),
  );
}
