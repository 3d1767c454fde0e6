import type { Codec } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';

/** One encoded frame and its UTF-8 size, shared by every recipient that speaks its codec. */
export interface EncodedFrame {
  readonly frame: string;
  readonly bytes: number;
}

/**
 * A message encoded at most once per wire format. Fan-out hands the same instance to every
 * recipient; each asks for its own format (`encoded(formatKey, encoder)`) and gets the
 * cached result, so a broadcast to N sessions of one format encodes once, not N times.
 */
export class PreparedMessage {
  private readonly cache = new Map<string, unknown>();
  private json: string | undefined;
  /**
   * In a cluster, the fan-out log entry this message is (origin node and entry id): a session
   * that takes it records how far it got in that node's log (see hub/session-store.ts).
   */
  logPosition: { readonly node: string; readonly id: string } | undefined;

  /** `event` names the event for protocols that carry one (sac-sock); undefined for plain messages. */
  constructor(
    readonly value: unknown,
    readonly event?: string,
  ) {}

  /** The cached encoding for `format`, made by `encode` on first request. */
  encoded<T>(format: string, encode: (message: PreparedMessage) => T): T {
    if (this.cache.has(format)) return this.cache.get(format) as T;
    const result = encode(this);
    this.cache.set(format, result);
    return result;
  }

  /** The value's JSON text (computed once), or an ERR_INVALID_MESSAGE when it has none. */
  jsonText(): string {
    this.json ??= jsonTextOf(this.value);
    return this.json;
  }

  /**
   * The JSON text of an event for protocols without events on the wire (0.6):
   * `{"event":name,"data":value}`; bytes travel as base64 with `"binary":true`.
   */
  envelopeJson(): string {
    const data = this.value;
    if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
      const base64 = (
        data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      ).toString('base64');
      return `{"event":${JSON.stringify(this.event)},"data":"${base64}","binary":true}`;
    }
    return `{"event":${JSON.stringify(this.event)},"data":${this.jsonText()}}`;
  }

  /**
   * Frame for a 0.6 codec: a string is text, anything else JSON (`undefined` → `null`);
   * an event goes as its JSON envelope (`envelopeJson`).
   */
  encodedFor(codec: Codec): EncodedFrame {
    return this.encoded(codec.name, encodeForCodec(codec));
  }
}

const encoders = new WeakMap<Codec, (message: PreparedMessage) => EncodedFrame>();

function encodeForCodec(codec: Codec): (message: PreparedMessage) => EncodedFrame {
  let encoder = encoders.get(codec);
  if (encoder === undefined) {
    encoder = (message) => {
      // An event travels to 0.6 clients as the JSON envelope {event, data}.
      if (message.event === undefined) return encodeValue(codec, message.value, () => message.jsonText());
      const frame = codec.encodeJson(message.envelopeJson());
      return { frame, bytes: Buffer.byteLength(frame) };
    };
    encoders.set(codec, encoder);
  }
  return encoder;
}

/**
 * The frame of one value for one recipient, without a PreparedMessage and its cache (a
 * plain `conn.send`): the same rule, a string is text and anything else JSON.
 * Throws ERR_INVALID_MESSAGE for a value without a JSON form.
 */
export function encodeValue(codec: Codec, value: unknown, json = () => jsonTextOf(value)): EncodedFrame {
  const frame = typeof value === 'string' ? codec.encodeText(value) : codec.encodeJson(json());
  return { frame, bytes: Buffer.byteLength(frame) };
}

/** `JSON.stringify` as the wire wants it: `undefined` is `null`, no JSON form is ERR_INVALID_MESSAGE. */
export function jsonTextOf(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch (cause) {
    throw new RealtimeError('ERR_INVALID_MESSAGE', `the value has no JSON form: ${String(cause)}`, { cause });
  }
  return text ?? 'null';
}
