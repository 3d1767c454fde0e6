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
import { dataFrame } from '../wire/ws-frame.js';

/** One whole inbound message as `ws` assembled it: the payloads of its frames, in order. */
export interface InboundMessage {
  readonly type: MessageType;
  readonly fragments: readonly Buffer[];
}

/**
 * The same, as `ws` hands it over with `binaryType: 'fragments'` and as the connection keeps
 * it, with no wrapper per message: a text message is one Buffer (ws has validated its UTF-8
 * over the whole), a binary one the array of its frames' payloads.
 */
export type WireMessage = Buffer | readonly Buffer[];

/** One outbound frame's data and opcode. */
export interface Outgoing {
  readonly data: string | Buffer;
  readonly binary: boolean;
}

export type Decoded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RealtimeError };

/** A message that did not decode (only failures are wrapped: a decoded value costs nothing extra). */
export class Invalid {
  constructor(readonly error: RealtimeError) {}
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function joinFragments(fragments: readonly Buffer[]): Buffer {
  return fragments.length === 1 ? (fragments[0] as Buffer) : Buffer.concat(fragments);
}

export function typeOf(message: WireMessage): MessageType {
  return Array.isArray(message) ? 'binary' : 'text';
}

/** The whole payload of a message. */
export function bytesOf(message: WireMessage): Buffer {
  return Array.isArray(message) ? joinFragments(message) : (message as Buffer);
}

/** The frames' payloads of a message (a text message is one). */
export function fragmentsOf(message: WireMessage): readonly Buffer[] {
  return Array.isArray(message) ? message : [message as Buffer];
}

function textOf(message: WireMessage): string | Invalid {
  // ws has already validated text messages (close 1007 otherwise); binary ones are checked here.
  if (!Array.isArray(message)) return (message as Buffer).toString('utf8');
  try {
    return strictUtf8.decode(joinFragments(message));
  } catch (cause) {
    return new Invalid(new RealtimeError('ERR_INVALID_UTF8', 'a binary message is not valid UTF-8', { cause }));
  }
}

function jsonOf<T>(
  message: WireMessage,
  validate: ((value: unknown) => T) | undefined,
  maxJsonDepth: number,
): T | Invalid {
  const text = textOf(message);
  if (text instanceof Invalid) return text;
  if (exceedsJsonDepth(text, maxJsonDepth)) return new Invalid(tooDeep(maxJsonDepth));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return new Invalid(
      new RealtimeError('ERR_MALFORMED_FRAME', `a message is not valid JSON: ${String(cause)}`, { cause }),
    );
  }
  if (validate === undefined) return value as T;
  try {
    return validate(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new Invalid(new RealtimeError('ERR_MALFORMED_FRAME', `a message failed validation: ${reason}`, { cause }));
  }
}

/** Decodes one inbound message in `mode`: the value, or `Invalid` with the reason. */
export function decodeWire<T>(
  mode: ChannelMode,
  message: WireMessage,
  validate?: (value: unknown) => T,
  maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
): T | Invalid {
  if (mode === 'json') return jsonOf(message, validate, maxJsonDepth);
  if (mode === 'text') return textOf(message) as T | Invalid;
  const bytes = bytesOf(message);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) as T;
}

/** Decodes one inbound message in `mode` (`decodeWire` for a message with its type spelled out). */
export function decodeMessage<T>(
  mode: ChannelMode,
  message: InboundMessage,
  validate?: (value: unknown) => T,
  maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
): Decoded<T> {
  const wire = message.type === 'text' ? joinFragments(message.fragments) : message.fragments;
  const decoded = decodeWire(mode, wire, validate, maxJsonDepth);
  return decoded instanceof Invalid ? { ok: false, error: decoded.error } : { ok: true, value: decoded };
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * The frame data of a value for `mode` (a string goes out as a text frame, bytes as a binary
 * one). json: JSON text. text: a string as is, anything else as JSON. binary: bytes as is, a
 * string as UTF-8, anything else as JSON in UTF-8. Throws `ERR_INVALID_MESSAGE` for a value
 * with no JSON form.
 */
export function dataOf(mode: ChannelMode, value: unknown): string | Buffer {
  if (mode === 'json') return jsonTextOf(value);
  if (mode === 'text') return typeof value === 'string' ? value : jsonTextOf(value);
  if (value instanceof Uint8Array) return asBuffer(value);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return Buffer.from(typeof value === 'string' ? value : jsonTextOf(value), 'utf8');
}

/** `dataOf` with its opcode spelled out. */
export function encodeValue(mode: ChannelMode, value: unknown): Outgoing {
  const data = dataOf(mode, value);
  return { data, binary: typeof data !== 'string' };
}

/** Format keys, made once: a fan-out asks for one per recipient. */
const FORMAT_KEYS: Readonly<Record<ChannelMode, string>> = Object.freeze({
  json: 'plain:json',
  text: 'plain:text',
  binary: 'plain:binary',
});

/** The format key under which a roomcast is encoded once for every plain connection of `mode`. */
export function formatKey(mode: ChannelMode): string {
  return FORMAT_KEYS[mode];
}

/** One encoder per mode, made once: no closure per recipient. */
const PREPARED_ENCODERS: Readonly<Record<ChannelMode, (message: PreparedMessage) => Outgoing>> = Object.freeze({
  // The JSON text is cached on the message, shared with every other JSON format.
  json: (message: PreparedMessage) => ({ data: message.jsonText(), binary: false }),
  text: (message: PreparedMessage) => encodeValue('text', message.value),
  binary: (message: PreparedMessage) => encodeValue('binary', message.value),
});

/** The encoding of a fan-out message for `mode`, shared by every recipient of that mode. */
export function encodePrepared(mode: ChannelMode, message: PreparedMessage): Outgoing {
  return message.encoded(FORMAT_KEYS[mode], PREPARED_ENCODERS[mode]);
}

/** The RFC 6455 frame of a fan-out message for `mode`, made once for every recipient of that mode. */
const FRAME_KEYS: Readonly<Record<ChannelMode, string>> = Object.freeze({
  json: 'plain:json:rfc6455',
  text: 'plain:text:rfc6455',
  binary: 'plain:binary:rfc6455',
});

const FRAME_ENCODERS: Readonly<Record<ChannelMode, (message: PreparedMessage) => Buffer>> = Object.freeze({
  json: (message: PreparedMessage) => frameOf(encodePrepared('json', message)),
  text: (message: PreparedMessage) => frameOf(encodePrepared('text', message)),
  binary: (message: PreparedMessage) => frameOf(encodePrepared('binary', message)),
});

function frameOf(outgoing: Outgoing): Buffer {
  return dataFrame(outgoing.data, outgoing.binary);
}

/** The frame of a fan-out message for `mode` (ws-frame.ts), shared by every recipient of that mode. */
export function preparedFrame(mode: ChannelMode, message: PreparedMessage): Buffer {
  return message.encoded(FRAME_KEYS[mode], FRAME_ENCODERS[mode]);
}
