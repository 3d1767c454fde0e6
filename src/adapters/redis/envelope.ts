/**
 * The message several instances exchange through Redis pub/sub: sacrificial-socket's ssredis
 * envelope (docs/protocol/sac-sock.md §5.2), so Switchyard and Go instances in one server group
 * understand each other's broadcasts and roomcasts, plus fields of Switchyard's own that Go
 * ignores.
 *
 *   PUBLISH ss-rmhb-group-default:_ss_broadcasts {"d":1,"e":"chat","p":"aGk=","s":"abc"}
 *   PUBLISH ss-rmhb-group-default:_ss_roomcasts  {"d":3,"e":"msg","r":"lobby","p":"eyJhIjoxfQ==","s":"abc"}
 *   PUBLISH ss-rmhb-group-default:_ss_roomcasts  {"d":1,"e":"message","r":"a","p":"aGk=","s":"abc",
 *                                                 "rooms":["a","b"],"except":["Q2x…"],"plain":true}
 *
 * | key      | Go reads it | content                                                        |
 * | -------- | ----------- | -------------------------------------------------------------- |
 * | `d`      | yes         | 1 string (UTF-8), 2 bytes, 3 JSON text                         |
 * | `e`      | yes         | event name, non-empty (`message` for a plain message)          |
 * | `r`      | yes         | the (first) room; roomcasts only                               |
 * | `p`      | yes         | payload bytes, standard base64 with padding                    |
 * | `s`      | yes         | sender's server name: the echo filter                          |
 * | `rooms`  | no          | every target room, when there are several                      |
 * | `except` | no          | ids of members to skip                                         |
 * | `plain`  | no          | `true`: a plain message (no event), as `send`/`broadcast` made  |
 *
 * Go's encoding/json matches keys case-insensitively, so no extra key may be a case
 * variant of d, e, r, p or s (`R` would overwrite Go's room).
 *
 * Pure: no I/O. Decoding never throws; malformed input is `{ ok: false, error }`.
 */
import { isUtf8 } from 'node:buffer';
import { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth, tooDeep } from '../../codecs/json-depth.js';
import type { DecodeResult } from '../../codecs/types.js';
import { RealtimeError } from '../../errors.js';
import type { FanOutTarget } from '../../hub/adapter.js';
import { PreparedMessage } from '../../hub/prepared.js';

/** sacrificial-socket's default server group (docs/protocol/sac-sock.md §5.2). */
export const DEFAULT_SERVER_GROUP = 'ss-rmhb-group-default';
/** The event a plain message travels under: what a sac-sock socket receives it as. */
export const PLAIN_EVENT = 'message';

export const DATA_STRING = 1;
export const DATA_BINARY = 2;
export const DATA_JSON = 3;

/** Which of the two channels a message travels on. */
export type ChannelKind = 'roomcasts' | 'broadcasts';

/** The two channel names of a server group. */
export function channelNames(serverGroup: string): Record<ChannelKind, string> {
  return { roomcasts: `${serverGroup}:_ss_roomcasts`, broadcasts: `${serverGroup}:_ss_broadcasts` };
}

/** The JSON object on the wire, keys in Go's order first. */
export interface Envelope {
  readonly d: number;
  readonly e: string;
  readonly r?: string;
  readonly p: string;
  readonly s: string;
  readonly rooms?: readonly string[];
  readonly except?: readonly string[];
  readonly plain?: true;
}

/** A message that arrived from another instance: what to deliver locally, and to whom. */
export interface ForwardedMessage {
  readonly sender: string;
  readonly message: PreparedMessage;
  readonly target: FanOutTarget;
}

/**
 * The channel and JSON text of one fan-out. Throws ERR_INVALID_MESSAGE for a value without
 * a JSON form (local members refused it too). `target.rooms` must not be empty.
 */
export function encodeEnvelope(
  message: PreparedMessage,
  target: FanOutTarget,
  sender: string,
): { kind: ChannelKind; json: string } {
  const { d, payload } = payloadOf(message);
  const rooms = target.rooms;
  const envelope: Envelope = {
    d,
    e: message.event ?? PLAIN_EVENT,
    ...(rooms === undefined ? {} : { r: rooms[0] }),
    p: payload.toString('base64'),
    s: sender,
    ...(rooms !== undefined && rooms.length > 1 ? { rooms } : {}),
    ...(target.except !== undefined && target.except.size > 0 ? { except: [...target.except] } : {}),
    ...(message.event === undefined ? { plain: true as const } : {}),
  };
  return { kind: rooms === undefined ? 'broadcasts' : 'roomcasts', json: JSON.stringify(envelope) };
}

function payloadOf(message: PreparedMessage): { d: number; payload: Buffer } {
  const value = message.value;
  if (typeof value === 'string') return { d: DATA_STRING, payload: Buffer.from(value, 'utf8') };
  if (value instanceof Uint8Array) {
    return { d: DATA_BINARY, payload: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
  }
  if (value instanceof ArrayBuffer) return { d: DATA_BINARY, payload: Buffer.from(value) };
  // The JSON text is cached on the message: local members of JSON formats share it.
  return { d: DATA_JSON, payload: Buffer.from(message.jsonText(), 'utf8') };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** How deep a well-formed envelope's own JSON nests, with room to spare. */
const ENVELOPE_DEPTH = 4;

function malformed(why: string): { ok: false; error: RealtimeError } {
  return { ok: false, error: new RealtimeError('ERR_MALFORMED_FRAME', `malformed envelope: ${why}`) };
}

/**
 * Parses an envelope from `kind`'s channel, checking every field (docs/protocol/sac-sock.md §5.2
 * "Receiving", and ours).
 */
export function decodeEnvelope(
  text: string,
  kind: ChannelKind,
  maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
): DecodeResult<ForwardedMessage> {
  // The envelope itself nests two levels (rooms, except); its payload is base64 and checked below.
  if (exceedsJsonDepth(text, ENVELOPE_DEPTH)) return { ok: false, error: tooDeep(ENVELOPE_DEPTH) };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return malformed('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return malformed('not a JSON object');
  const envelope = raw as Record<string, unknown>;
  const { d, e, s, p } = envelope;
  if (d !== DATA_STRING && d !== DATA_BINARY && d !== DATA_JSON) return malformed(`unknown data type ${String(d)}`);
  if (typeof e !== 'string' || e === '') return malformed('no event name');
  if (typeof s !== 'string') return malformed('no sender');
  if (typeof p !== 'string' || p.length % 4 !== 0 || !BASE64.test(p)) return malformed('payload is not base64');
  const value = valueOf(d, Buffer.from(p, 'base64'), maxJsonDepth);
  if (!value.ok) return value;
  const target = targetOf(envelope, kind);
  if (!target.ok) return target;
  const plain = envelope.plain;
  if (plain !== undefined && plain !== true) return malformed('plain is not true');
  const message = new PreparedMessage(value.value, plain === true ? undefined : e);
  return { ok: true, value: { sender: s, message, target: target.value } };
}

function valueOf(d: number, payload: Buffer, maxJsonDepth: number): DecodeResult<unknown> {
  if (d === DATA_BINARY) return { ok: true, value: payload };
  // A text frame with broken UTF-8 would be refused by every client: drop it here.
  if (!isUtf8(payload)) return malformed('payload is not UTF-8');
  const text = payload.toString('utf8');
  if (d === DATA_STRING) return { ok: true, value: text };
  if (exceedsJsonDepth(text, maxJsonDepth)) return { ok: false, error: tooDeep(maxJsonDepth) };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return malformed('JSON payload does not parse');
  }
}

function targetOf(envelope: Record<string, unknown>, kind: ChannelKind): DecodeResult<FanOutTarget> {
  const except = envelope.except;
  if (except !== undefined && !isStringList(except)) return malformed('except is not a list of ids');
  const exceptSet = except === undefined ? undefined : new Set(except);
  if (kind === 'broadcasts') return { ok: true, value: { except: exceptSet } };
  const { r, rooms } = envelope;
  if (typeof r !== 'string' || r === '') return malformed('a roomcast without a room');
  if (rooms !== undefined && (!isStringList(rooms) || rooms.length === 0 || rooms.some((room) => room === ''))) {
    return malformed('rooms is not a list of room names');
  }
  return { ok: true, value: { rooms: rooms ?? [r], except: exceptSet } };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
