/**
 * The SIO codec of Socket.IO 0.6 (the one the 0.6.18 browser client speaks).
 *
 *   payload := frame*
 *   frame   := "~m~" LENGTH "~m~" DATA
 *
 *   ~m~5~m~hello                         one text message
 *   ~m~10~m~~j~{"a":1}                   JSON: DATA starts with ~j~
 *   ~m~4~m~~h~1                          heartbeat 1: DATA starts with ~h~
 *   ~m~16~m~Ab3dE5gH7jK9mN1p~m~2~m~hi    two frames in one payload
 *
 * LENGTH counts UTF-16 code units (`String.length`), never bytes or code points:
 * `~m~2~m~😀`, `~m~11~m~héllo 日本 😀`. Decode UTF-8 to a string first, then frame.
 *
 * Decoding is strict (docs/protocol/socketio-0.6.md §2.7): the payload must be consumed entirely
 * by well-formed frames, or the whole payload is an ERR_MALFORMED_FRAME. It never throws
 * and never truncates.
 */
import { RealtimeError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, tooDeep } from './json-depth.js';
import type { Codec, DecodeResult, InboundMessage, PayloadDecoder } from './types.js';

export const FRAME_MARKER = '~m~';
export const JSON_MARKER = '~j~';
export const HEARTBEAT_MARKER = '~h~';

/** Longest LENGTH field read; beyond this the number cannot be a sane frame length. */
const MAX_LENGTH_DIGITS = 15;

/** One frame around already-annotated DATA. */
export function encodeFrame(data: string): string {
  return FRAME_MARKER + data.length + FRAME_MARKER + data;
}

/**
 * The 0.6.18 value rule (client and Node server): a plain object is JSON, `null` and
 * `undefined` are empty, anything else is `String(value)`. An array passed as a whole is a
 * list of messages. Kept for wire compatibility; `Conn.send` uses the simpler rule
 * "string is text, anything else is JSON".
 */
function encodeLegacyValue(value: unknown): string {
  if (value === null || value === undefined) return encodeFrame('');
  if (Object.prototype.toString.call(value) === '[object Object]') {
    return encodeFrame(JSON_MARKER + JSON.stringify(value));
  }
  return encodeFrame(String(value));
}

/** `encode` of the 0.6.18 client: one frame per element. */
export function encode(messages: readonly unknown[]): string {
  let out = '';
  for (const message of messages) out += encodeLegacyValue(message);
  return out;
}

function malformed(message: string): DecodeResult<never> {
  return { ok: false, error: new RealtimeError('ERR_MALFORMED_FRAME', message) };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** True when `rest` is a proper prefix of "~m~" (the header was cut short). */
function isMarkerPrefix(input: string, from: number): boolean {
  const rest = input.length - from;
  return rest < FRAME_MARKER.length && FRAME_MARKER.startsWith(input.slice(from));
}

/**
 * Splits a payload into frame DATA strings. `maxFrameLength` (UTF-16 units) is checked on
 * the declared LENGTH, before the frame is sliced.
 */
export function decodeFrames(input: string, maxFrameLength = Infinity): DecodeResult<string[]> {
  const frames: string[] = [];
  let pos = 0;
  while (pos < input.length) {
    if (!input.startsWith(FRAME_MARKER, pos)) {
      if (isMarkerPrefix(input, pos)) return malformed('truncated header');
      return malformed(pos === 0 ? 'payload does not start with ~m~' : 'trailing data after last frame');
    }
    let cursor = pos + FRAME_MARKER.length;
    const digitsStart = cursor;
    while (cursor < input.length && isDigit(input.charCodeAt(cursor))) cursor++;
    if (cursor === input.length) return malformed('truncated header');
    if (cursor === digitsStart) return malformed('length missing or not numeric');
    if (!input.startsWith(FRAME_MARKER, cursor)) {
      if (isMarkerPrefix(input, cursor)) return malformed('truncated header');
      return malformed('length not followed by ~m~');
    }
    if (cursor - digitsStart > MAX_LENGTH_DIGITS) return tooLarge(Infinity, maxFrameLength);
    const length = Number(input.slice(digitsStart, cursor));
    if (length > maxFrameLength) return tooLarge(length, maxFrameLength);
    const start = cursor + FRAME_MARKER.length;
    const present = input.length - start;
    if (length > present) {
      return malformed(`truncated frame: declared ${length} UTF-16 code units, ${present} present`);
    }
    frames.push(input.slice(start, start + length));
    pos = start + length;
  }
  return { ok: true, value: frames };
}

function tooLarge(length: number, max: number): DecodeResult<never> {
  return {
    ok: false,
    error: new RealtimeError('ERR_TOO_LARGE', `frame of ${length} UTF-16 code units exceeds the limit of ${max}`),
  };
}

/** Reads the annotation at the start of one frame's DATA; null for JSON nested deeper than `maxJsonDepth`. */
function classifyFrame(frame: string, maxJsonDepth: number): InboundMessage | null {
  if (frame.startsWith(HEARTBEAT_MARKER)) return { type: 'heartbeat', data: frame.slice(3) };
  if (frame.startsWith(JSON_MARKER)) {
    const text = frame.slice(3);
    if (exceedsJsonDepth(text, maxJsonDepth)) return null;
    try {
      return { type: 'json', data: JSON.parse(text) as unknown };
    } catch {
      // Not an error of the payload: a text message may start with ~j~ (no escaping exists).
      return { type: 'json-invalid', data: text };
    }
  }
  return { type: 'text', data: frame };
}

/**
 * Decodes a whole payload into messages. A `~j~` frame nested deeper than `maxJsonDepth`
 * refuses the whole payload (`ERR_JSON_TOO_DEEP`), as a malformed one does.
 */
export function decode(
  input: string,
  maxFrameLength = Infinity,
  maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
): DecodeResult<InboundMessage[]> {
  const frames = decodeFrames(input, maxFrameLength);
  if (!frames.ok) return frames;
  const messages: InboundMessage[] = [];
  for (const frame of frames.value) {
    const message = classifyFrame(frame, maxJsonDepth);
    if (message === null) return { ok: false, error: tooDeep(maxJsonDepth) };
    messages.push(message);
  }
  return { ok: true, value: messages };
}

class SioDecoder implements PayloadDecoder {
  readonly isStateless = true;
  constructor(
    private readonly maxFrameLength: number,
    private readonly maxJsonDepth: number,
  ) {}
  push(input: string): DecodeResult<InboundMessage[]> {
    return decode(input, this.maxFrameLength, this.maxJsonDepth);
  }
}

/** The SIO codec as the session layer uses it. Its decoder keeps no state between payloads. */
export const sioCodec: Codec = {
  name: 'sio',
  encodeText: encodeFrame,
  encodeJson: (json) => encodeFrame(JSON_MARKER + json),
  encodeHeartbeat: (counter) => encodeFrame(HEARTBEAT_MARKER + counter),
  encodeHandshake: encodeFrame,
  createDecoder: ({ maxFrameLength, maxJsonDepth = DEFAULT_MAX_JSON_DEPTH }) =>
    new SioDecoder(maxFrameLength, maxJsonDepth),
};
