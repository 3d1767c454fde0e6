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

  /** Frame for a 0.6 codec: a string is text, anything else JSON (`undefined` → `null`). */
  encodedFor(codec: Codec): EncodedFrame {
    return this.encoded(codec.name, encodeForCodec(codec));
  }
}

const encoders = new WeakMap<Codec, (message: PreparedMessage) => EncodedFrame>();

function encodeForCodec(codec: Codec): (message: PreparedMessage) => EncodedFrame {
  let encoder = encoders.get(codec);
  if (encoder === undefined) {
    encoder = (message) => encodeValue(codec, message.value, () => message.jsonText());
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

function jsonTextOf(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch (cause) {
    throw new RealtimeError('ERR_INVALID_MESSAGE', `the value has no JSON form: ${String(cause)}`, { cause });
  }
  return text ?? 'null';
}
