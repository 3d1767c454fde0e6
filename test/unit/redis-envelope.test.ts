/**
 * The ssredis envelope codec, table-driven: the three examples of docs/protocol/sac-sock.md §5.2
 * decode, what Switchyard encodes decodes back to the same message and target, and every
 * kind of malformed input is refused with ERR_MALFORMED_FRAME.
 */
import { describe, expect, it } from 'vitest';
import type { FanOutTarget } from '../../src/hub/adapter.js';
import { PreparedMessage } from '../../src/hub/prepared.js';
import { channelNames, decodeEnvelope, encodeEnvelope, type ChannelKind } from '../../src/adapters/redis/envelope.js';

describe('ssredis envelope', () => {
  it('names the two channels of a group as ssredis does', () => {
    expect(channelNames('ss-rmhb-group-default')).toEqual({
      roomcasts: 'ss-rmhb-group-default:_ss_roomcasts',
      broadcasts: 'ss-rmhb-group-default:_ss_broadcasts',
    });
  });

  it.each([
    ['broadcasts', '{"d":1,"e":"chat","p":"aGk=","s":"abc"}', 'chat', 'hi', undefined],
    ['roomcasts', '{"d":3,"e":"msg","r":"lobby","p":"eyJhIjoxfQ==","s":"abc"}', 'msg', { a: 1 }, ['lobby']],
    [
      'roomcasts',
      '{"d":2,"e":"bin","r":"__socket_id:Q2x","p":"3q0=","s":"abc"}',
      'bin',
      Buffer.from([0xde, 0xad]),
      ['__socket_id:Q2x'],
    ],
  ] as const)('decodes the reference example on %s: %s', (kind, text, event, value, rooms) => {
    const decoded = decodeEnvelope(text, kind);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.sender).toBe('abc');
    expect(decoded.value.message.event).toBe(event);
    expect(decoded.value.message.value).toEqual(value);
    expect(decoded.value.target.rooms).toEqual(rooms);
  });

  it.each<[string, PreparedMessage, FanOutTarget]>([
    ['an event broadcast', new PreparedMessage('héllo 🎉', 'chat'), {}],
    ['a plain broadcast with except', new PreparedMessage({ n: [1, 'x'] }), { except: new Set(['a', 'b']) }],
    ['bytes to several rooms', new PreparedMessage(new Uint8Array([0, 1, 255]), 'b'), { rooms: ['x', 'y'] }],
    ['an ArrayBuffer to one room', new PreparedMessage(new Uint8Array([7]).buffer, 'b'), { rooms: ['x'] }],
    ['null', new PreparedMessage(null, 'n'), { rooms: ['x'] }],
  ])('round-trips %s', (_name, message, target) => {
    const { kind, json } = encodeEnvelope(message, target, 'me');
    expect(kind).toBe(target.rooms === undefined ? 'broadcasts' : 'roomcasts');
    const decoded = decodeEnvelope(json, kind);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.sender).toBe('me');
    expect(decoded.value.message.event).toBe(message.event);
    const value = message.value;
    if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
      expect(Buffer.from(decoded.value.message.value as Uint8Array)).toEqual(Buffer.from(value as Uint8Array));
    } else {
      expect(decoded.value.message.value).toEqual(value);
    }
    expect(decoded.value.target.rooms).toEqual(target.rooms);
    expect(decoded.value.target.except).toEqual(target.except);
  });

  it('puts the Go keys first and in order, leaving out r on broadcasts', () => {
    const { json } = encodeEnvelope(new PreparedMessage('x'), { except: new Set(['q']) }, 's1');
    expect(Object.keys(JSON.parse(json) as object)).toEqual(['d', 'e', 'p', 's', 'except', 'plain']);
  });

  it('throws ERR_INVALID_MESSAGE for a value without a JSON form', () => {
    expect(() => encodeEnvelope(new PreparedMessage(1n, 'x'), {}, 's')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_MESSAGE' }),
    );
  });

  it.each<[ChannelKind, string]>([
    ['broadcasts', ''],
    ['broadcasts', 'null'],
    ['broadcasts', '"text"'],
    ['broadcasts', '{"d":4,"e":"x","p":"","s":"a"}'],
    ['broadcasts', '{"d":"1","e":"x","p":"","s":"a"}'],
    ['broadcasts', '{"d":1,"p":"","s":"a"}'],
    ['broadcasts', '{"d":1,"e":"x","p":"","s":7}'],
    ['broadcasts', '{"d":1,"e":"x","p":"aGk","s":"a"}'],
    ['broadcasts', '{"d":1,"e":"x","p":"a-k=","s":"a"}'],
    ['broadcasts', '{"d":1,"e":"x","p":"aGk=","s":"a","plain":1}'],
    ['broadcasts', '{"d":1,"e":"x","p":"aGk=","s":"a","except":[1]}'],
    ['roomcasts', '{"d":1,"e":"x","r":"","p":"aGk=","s":"a"}'],
    ['roomcasts', '{"d":1,"e":"x","r":"a","p":"aGk=","s":"a","rooms":[]}'],
    ['roomcasts', '{"d":1,"e":"x","r":"a","p":"aGk=","s":"a","rooms":["a",""]}'],
    ['roomcasts', '{"d":3,"e":"x","r":"a","p":"e3g=","s":"a"}'],
  ])('refuses on %s: %s', (kind, text) => {
    const decoded = decodeEnvelope(text, kind);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe('ERR_MALFORMED_FRAME');
  });
});
