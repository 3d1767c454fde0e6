import type { Codec, CodecName } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';

/** One encoded frame and its UTF-8 size, shared by every recipient that speaks its codec. */
export interface EncodedFrame {
  readonly frame: string;
  readonly bytes: number;
}

/**
 * A message encoded at most once per wire format. Fan-out hands the same instance to every
 * recipient; each asks for its own format and gets the cached frame.
 */
export class PreparedMessage {
  private readonly frames = new Map<CodecName, EncodedFrame>();
  private json: string | undefined;

  constructor(readonly value: unknown) {}

  /** The value's text form for `~j~`, or an error when it has none (BigInt, cycles). */
  jsonText(): string {
    if (this.json === undefined) {
      let text: string | undefined;
      try {
        text = JSON.stringify(this.value) as string | undefined;
      } catch (cause) {
        throw new RealtimeError('ERR_INVALID_MESSAGE', `the value has no JSON form: ${String(cause)}`, { cause });
      }
      if (text === undefined) throw new RealtimeError('ERR_INVALID_MESSAGE', 'the value has no JSON form');
      this.json = text;
    }
    return this.json;
  }

  /** Frame for a codec: a string is text, anything else JSON (`null`/`undefined` → `null`). */
  encodedFor(codec: Codec): EncodedFrame {
    let encoded = this.frames.get(codec.name);
    if (encoded === undefined) {
      const frame = typeof this.value === 'string' ? codec.encodeText(this.value) : codec.encodeJson(this.valueJson());
      encoded = { frame, bytes: Buffer.byteLength(frame) };
      this.frames.set(codec.name, encoded);
    }
    return encoded;
  }

  private valueJson(): string {
    return this.value === undefined ? 'null' : this.jsonText();
  }
}
