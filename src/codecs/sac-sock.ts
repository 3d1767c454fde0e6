/**
 * sacrificial-socket's `sac-sock` frames (docs/protocol/sac-sock.md §2; the § numbers below are
 * that file's). Two control bytes separate the parts; there is no length prefix, escaping or
 * quoting.
 *
 *   server → client   <event> 0x01 <type> 0x02 <payload>
 *     echo␁S␂hello        text frame, a string (type S)
 *     obj␁J␂{"a":1}       text frame, JSON (type J) for anything that is neither string nor bytes
 *     bin␁B␂<de ad>       binary frame, bytes (type B)
 *
 *   client → server   <event> 0x02 <payload>
 *     echo␂hello          split at the FIRST 0x02; the payload is every byte after it,
 *                         further 0x01/0x02 included, handed on untouched
 *
 * The server always sends the header: the browser client swallows the first 0x01 of the
 * data when a text frame has none (§2.4). A binary frame is never flagged J (the client
 * would JSON.parse an ArrayBuffer), and `undefined` is sent as JSON `null` (§6 item 3).
 */
import { RealtimeError } from '../errors.js';
import type { DecodeResult } from './types.js';

/** The subprotocol the browser client offers on every connect. */
export const SUBPROTOCOL = 'sac-sock';
/** Separates the event name from the type letter; server → client only. */
export const START_OF_HEADER = 0x01;
/** Separates the name (and header) from the payload. */
export const START_OF_DATA = 0x02;

export const TYPE_STRING = 'S';
export const TYPE_BINARY = 'B';
export const TYPE_JSON = 'J';

/** One server → client frame: the bytes and the websocket opcode to send them with. */
export interface SacSockFrame {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/** One client → server frame: the event name and its raw payload bytes. */
export interface SacSockInbound {
  readonly event: string;
  readonly payload: Buffer;
}

/** Bytes in the sense of §2.1's `[]byte`: Buffer, any Uint8Array, or an ArrayBuffer. */
export function isBytes(value: unknown): value is Uint8Array | ArrayBuffer {
  return value instanceof Uint8Array || value instanceof ArrayBuffer;
}

function toBuffer(value: Uint8Array | ArrayBuffer): Buffer {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Why an event name cannot go on the wire, or null when it can. */
export function checkEventName(event: string, isBinary: boolean): string | null {
  if (event === '') return 'the event name is empty';
  if (event.includes('\x01') || event.includes('\x02')) return 'the event name contains 0x01 or 0x02';
  // The client reads the name of a binary frame one byte per character (§2.1).
  if (isBinary && !isAscii(event)) return 'the event name of a binary frame must be ASCII';
  return null;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Encodes `value` as §2.1 says: a string as type S (text), bytes as type B (binary),
 * anything else as type J (text) from `jsonText`, which the caller computes once and may
 * share with other formats. Fails on a bad event name; never emits an empty J payload.
 */
export function encodeServerFrame(
  event: string,
  value: unknown,
  jsonText: () => string = () => JSON.stringify(value) ?? 'null',
): DecodeResult<SacSockFrame> {
  const isBinary = isBytes(value);
  const problem = checkEventName(event, isBinary);
  if (problem !== null) return { ok: false, error: new RealtimeError('ERR_INVALID_MESSAGE', problem) };
  let type: string;
  let payload: Buffer;
  if (typeof value === 'string') {
    type = TYPE_STRING;
    payload = Buffer.from(value, 'utf8');
  } else if (isBinary) {
    type = TYPE_BINARY;
    payload = toBuffer(value);
  } else {
    type = TYPE_JSON;
    try {
      payload = Buffer.from(jsonText(), 'utf8');
    } catch (error) {
      const cause = error instanceof RealtimeError ? error : new RealtimeError('ERR_INVALID_MESSAGE', String(error));
      return { ok: false, error: cause };
    }
  }
  const head = Buffer.from(`${event}\x01${type}\x02`, isBinary ? 'latin1' : 'utf8');
  return { ok: true, value: { data: Buffer.concat([head, payload]), isBinary } };
}

/**
 * Parses a client frame of either opcode (§2.3): the name is everything before the first
 * 0x02, the payload everything after it. Null for a frame without 0x02 or with an empty
 * name: the caller drops it and keeps the connection. The name of a binary frame is read
 * one byte per character, as the client wrote it (§2.2); of a text frame, as UTF-8.
 */
export function parseClientFrame(frame: Buffer, isBinary: boolean): SacSockInbound | null {
  const split = frame.indexOf(START_OF_DATA);
  if (split <= 0) return null;
  const event = frame.toString(isBinary ? 'latin1' : 'utf8', 0, split);
  return { event, payload: frame.subarray(split + 1) };
}

/**
 * A client frame as the browser client's `emit(event, data)` builds it (§2.2), for tests
 * and Node clients. One convenience: a Uint8Array counts as its bytes, like an ArrayBuffer.
 */
export function encodeClientFrame(event: string, data: unknown): SacSockFrame {
  if (data instanceof ArrayBuffer || data instanceof Uint8Array) {
    // One byte per UTF-16 unit, truncated to 8 bits, as `charCodeAt` gives them.
    const name = Buffer.alloc(event.length);
    for (let i = 0; i < event.length; i++) name[i] = event.charCodeAt(i) & 0xff;
    return { data: Buffer.concat([name, Buffer.of(START_OF_DATA), toBuffer(data)]), isBinary: true };
  }
  const text = typeof data === 'object' ? JSON.stringify(data) : String(data);
  return { data: Buffer.from(`${event}\x02${text}`, 'utf8'), isBinary: false };
}
