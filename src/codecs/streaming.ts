/**
 * madari's SIOStreamingCodec (docs/protocol/socketio-0.6.md §3), the "0.7" draft format.
 * The 0.6.18 browser client does not speak it; servers may offer it as `codec: 'sio-streaming'`.
 *
 *   message := TYPE ":" LENGTH ":" BODY ","
 *
 *   1:13::hello, world,          text (type 1, empty annotation section closed by ":")
 *   1:7:j\n:true,                JSON (annotation "j")
 *   1:13:r:chat\n:hello,         realm annotation r=chat
 *   2:6:123456,                  heartbeat 123456
 *   3:16:Ab3dE5gH7jK9mN1p,       handshake carrying the session id
 *   0:0:,                        disconnect (decoded; madari never sends it)
 *
 * LENGTH counts Unicode code points of BODY (the emoji 😀 is 1), unlike the SIO codec.
 * The decoder is incremental: it yields the same messages for every split of its input,
 * keeps a partial frame between pushes, and rejects a declared LENGTH above
 * `maxFrameLength` before buffering the body.
 */
import { RealtimeError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, tooDeep } from './json-depth.js';
import type { Codec, DecodeResult, InboundMessage, PayloadDecoder } from './types.js';

export const MESSAGE_TYPE = { disconnect: 0, message: 1, heartbeat: 2, handshake: 3 } as const;

/** What madari's encoder accepts, by kind. */
export type StreamingOutbound =
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'heartbeat'; readonly value: number }
  | { readonly kind: 'handshake'; readonly value: string }
  | { readonly kind: 'disconnect' };

/** A decoded streaming message, with its annotations and numeric type where they matter. */
export type StreamingMessage = InboundMessage & {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly typ?: number;
};

/** Number of Unicode code points in a well-formed or lone-surrogate string. */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function frame(type: number, body: string): string {
  return `${type}:${codePointLength(body)}:${body},`;
}

export function encodeStreaming(message: StreamingOutbound): string {
  switch (message.kind) {
    case 'text':
      // madari writes nothing for an empty string.
      return message.value === '' ? '' : frame(MESSAGE_TYPE.message, ':' + message.value);
    case 'json':
      return frame(MESSAGE_TYPE.message, 'j\n:' + JSON.stringify(message.value));
    case 'heartbeat':
      return frame(MESSAGE_TYPE.heartbeat, String(message.value));
    case 'handshake':
      return frame(MESSAGE_TYPE.handshake, message.value);
    case 'disconnect':
      return '0:0:,';
  }
}

/** Index just past `count` code points from `from`, or -1 when the input ends first. */
function advanceCodePoints(text: string, from: number, count: number): number {
  let i = from;
  for (let n = 0; n < count; n++) {
    if (i >= text.length) return -1;
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      // A high surrogate at the very end may be half of a pair split across pushes.
      if (i + 1 >= text.length) return -1;
      const next = text.charCodeAt(i + 1);
      i += next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    } else {
      i++;
    }
  }
  return i;
}

/** Most digits in a TYPE or LENGTH field. */
const MAX_NUMBER_DIGITS = 15;

/**
 * Longest TYPE or LENGTH field waited on before its ":". Like madari, a field is checked
 * only once its ":" has arrived, so the start of a next frame that is still arriving stays
 * pending instead of failing (vector sios-dec-089); the cap keeps junk from being buffered
 * without end.
 */
const MAX_FIELD_LENGTH = 64;

type Parsed =
  | { readonly state: 'message'; readonly message: StreamingMessage; readonly end: number }
  | { readonly state: 'incomplete' }
  | { readonly state: 'error'; readonly error: RealtimeError };

function fail(message: string, code: 'ERR_MALFORMED_FRAME' | 'ERR_TOO_LARGE' = 'ERR_MALFORMED_FRAME'): Parsed {
  return { state: 'error', error: new RealtimeError(code, message) };
}

/** Reads a decimal field ending in ":" from `from`. */
function readNumber(input: string, from: number, what: string): { value: number; next: number } | Parsed {
  let colon = from;
  while (colon < input.length && input.charCodeAt(colon) !== 58 /* : */) {
    if (colon - from >= MAX_FIELD_LENGTH) return fail(`${what} is not a decimal number`);
    colon++;
  }
  if (colon === input.length) return { state: 'incomplete' };
  const field = input.slice(from, colon);
  if (field === '') return fail(`${what} missing`);
  if (!/^[0-9]+$/.test(field)) return fail(`${what} is not a decimal number`);
  if (field.length > MAX_NUMBER_DIGITS) return fail(`${what} has too many digits`);
  return { value: Number(field), next: colon + 1 };
}

function parseAnnotated(body: string): { data: string; annotations: Record<string, string> } | Parsed {
  const annotations: Record<string, string> = {};
  let i = 0;
  for (;;) {
    let keyEnd = i;
    while (keyEnd < body.length && body[keyEnd] !== '\n' && body[keyEnd] !== ':') keyEnd++;
    if (keyEnd >= body.length) return fail('annotation section not closed');
    const key = body.slice(i, keyEnd);
    if (body[keyEnd] === ':' && key === '') return { data: body.slice(keyEnd + 1), annotations };
    if (key === '') return fail('expecting an annotation key');
    if (body[keyEnd] === '\n') {
      annotations[key] = '';
      i = keyEnd + 1;
      continue;
    }
    let valueEnd = keyEnd + 1;
    while (valueEnd < body.length && body[valueEnd] !== '\n' && body[valueEnd] !== ':') valueEnd++;
    if (valueEnd >= body.length) return fail('annotation section not closed');
    annotations[key] = body.slice(keyEnd + 1, valueEnd);
    if (body[valueEnd] === ':') return { data: body.slice(valueEnd + 1), annotations };
    i = valueEnd + 1;
  }
}

function toMessage(type: number, body: string): StreamingMessage | Parsed {
  switch (type) {
    case MESSAGE_TYPE.heartbeat:
      return { type: 'heartbeat', data: body };
    case MESSAGE_TYPE.handshake:
      return { type: 'handshake', data: body };
    case MESSAGE_TYPE.message: {
      const parsed = parseAnnotated(body);
      if ('state' in parsed) return parsed;
      const { data, annotations } = parsed;
      const extra = Object.keys(annotations).length > 0 ? { annotations } : {};
      return 'j' in annotations ? { type: 'json', data, ...extra } : { type: 'text', data, ...extra };
    }
    default:
      return { type: 'text', data: body, typ: type };
  }
}

function parseOne(input: string, from: number, maxFrameLength: number): Parsed {
  const type = readNumber(input, from, 'message type');
  if ('state' in type) return type;
  const length = readNumber(input, type.next, 'length');
  if ('state' in length) return length;
  if (type.value === MESSAGE_TYPE.disconnect) {
    if (length.next >= input.length) return { state: 'incomplete' };
    if (input[length.next] !== ',') return fail('expecting the "," trailer');
    return { state: 'message', message: { type: 'disconnect', data: '' }, end: length.next + 1 };
  }
  if (length.value > maxFrameLength) {
    return fail(`frame of ${length.value} code points exceeds the limit of ${maxFrameLength}`, 'ERR_TOO_LARGE');
  }
  const bodyEnd = advanceCodePoints(input, length.next, length.value);
  if (bodyEnd === -1 || bodyEnd >= input.length) return { state: 'incomplete' };
  if (input[bodyEnd] !== ',') return fail(`expecting the "," trailer, got ${JSON.stringify(input[bodyEnd])}`);
  const message = toMessage(type.value, input.slice(length.next, bodyEnd));
  if ('state' in message) return message;
  return { state: 'message', message, end: bodyEnd + 1 };
}

/** Incremental decoder; one per connection. After an error it starts afresh. */
export class StreamingDecoder implements PayloadDecoder {
  private pending = '';

  constructor(private readonly maxFrameLength = Infinity) {}

  /** True when part of a frame is waiting for more input. */
  get isIncomplete(): boolean {
    return this.pending.length > 0;
  }

  push(chunk: string): DecodeResult<StreamingMessage[]> {
    const input = this.pending + chunk;
    const messages: StreamingMessage[] = [];
    let pos = 0;
    while (pos < input.length) {
      const parsed = parseOne(input, pos, this.maxFrameLength);
      if (parsed.state === 'error') {
        this.pending = '';
        return { ok: false, error: parsed.error };
      }
      if (parsed.state === 'incomplete') break;
      messages.push(parsed.message);
      pos = parsed.end;
    }
    this.pending = input.slice(pos);
    return { ok: true, value: messages };
  }
}

export const streamingCodec: Codec = {
  name: 'sio-streaming',
  encodeText: (text) => encodeStreaming({ kind: 'text', value: text }),
  encodeJson: (json) => frame(MESSAGE_TYPE.message, 'j\n:' + json),
  encodeHeartbeat: (counter) => encodeStreaming({ kind: 'heartbeat', value: counter }),
  encodeHandshake: (sessionId) => encodeStreaming({ kind: 'handshake', value: sessionId }),
  encodeDisconnect: () => encodeStreaming({ kind: 'disconnect' }),
  createDecoder: ({ maxFrameLength, maxJsonDepth = DEFAULT_MAX_JSON_DEPTH }) =>
    new SessionStreamingDecoder(maxFrameLength, maxJsonDepth),
};

/** The session layer's view: JSON bodies parsed, as the SIO codec delivers them. */
class SessionStreamingDecoder implements PayloadDecoder {
  private readonly inner: StreamingDecoder;
  constructor(
    maxFrameLength: number,
    private readonly maxJsonDepth: number,
  ) {
    this.inner = new StreamingDecoder(maxFrameLength);
  }
  push(chunk: string): DecodeResult<InboundMessage[]> {
    const result = this.inner.push(chunk);
    if (!result.ok) return result;
    const messages: InboundMessage[] = [];
    for (const message of result.value) {
      const parsed = parseJsonBody(message, this.maxJsonDepth);
      if (parsed === null) return { ok: false, error: tooDeep(this.maxJsonDepth) };
      messages.push(parsed);
    }
    return { ok: true, value: messages };
  }
}

/** Null for a JSON body nested deeper than `maxJsonDepth`. */
function parseJsonBody(message: StreamingMessage, maxJsonDepth: number): InboundMessage | null {
  if (message.type !== 'json') return message;
  const text = message.data as string;
  if (exceedsJsonDepth(text, maxJsonDepth)) return null;
  try {
    return { type: 'json', data: JSON.parse(text) as unknown };
  } catch {
    return { type: 'json-invalid', data: text };
  }
}
