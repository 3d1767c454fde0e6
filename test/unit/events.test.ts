// § numbers in this file refer to docs/protocol/sac-sock.md.
import { describe, expect, it } from 'vitest';
import { EventHub, payloadBytes } from '../../src/hub/events.js';
import type { Socket } from '../../src/hub/rooms.js';

const socket = { id: 's', protocol: 'sio' } as unknown as Socket;

describe('payloadBytes: data as the sac-sock client would send it (§2.2)', () => {
  it.each([
    ['hello', 'hello'],
    ['é😀', 'é😀'],
    [{ room: 'a' }, '{"room":"a"}'],
    [[1, 2], '[1,2]'],
    [null, 'null'],
    [5, '5'],
    [true, 'true'],
    [undefined, 'undefined'],
  ])('%j → %s', (data, text) => {
    expect(payloadBytes(data)).toEqual(Buffer.from(text, 'utf8'));
  });
});

describe('EventHub', () => {
  function hub() {
    const errors: unknown[] = [];
    const calls: Array<[string, string]> = [];
    const events = new EventHub((error) => void errors.push(error));
    return { events, errors, calls };
  }

  it('dispatches the {event, data} convention only for events with a handler', () => {
    const { events, calls } = hub();
    events.on('join', (_socket, data) => void calls.push(['join', data.toString()]));
    expect(events.dispatchEnvelope(socket, { event: 'join', data: 'lobby' })).toBe(true);
    expect(events.dispatchEnvelope(socket, { event: 'join' })).toBe(true);
    expect(events.dispatchEnvelope(socket, { event: 'other', data: 1 })).toBe(false);
    expect(events.dispatchEnvelope(socket, { event: 5, data: 1 })).toBe(false);
    expect(events.dispatchEnvelope(socket, ['join', 'x'])).toBe(false);
    expect(events.dispatchEnvelope(socket, 'join')).toBe(false);
    expect(events.dispatchEnvelope(socket, null)).toBe(false);
    expect(calls).toEqual([
      ['join', 'lobby'],
      ['join', 'undefined'],
    ]);
  });

  it('keeps one handler per event: a later one replaces it, off removes it', () => {
    const { events, calls } = hub();
    events.on('e', () => void calls.push(['first', '']));
    events.on('e', () => void calls.push(['second', '']));
    expect(events.dispatch(socket, 'e', Buffer.alloc(0))).toBe(true);
    events.off('e');
    expect(events.dispatch(socket, 'e', Buffer.alloc(0))).toBe(false);
    expect(calls).toEqual([['second', '']]);
  });

  it('reports throws and rejections of handlers and listeners', async () => {
    const { events, errors } = hub();
    events.on('sync', () => {
      throw new Error('sync');
    });
    events.on('async', async () => {
      throw new Error('async');
    });
    events.onConnect(() => {
      throw new Error('connect');
    });
    events.dispatch(socket, 'sync', Buffer.alloc(0));
    events.dispatch(socket, 'async', Buffer.alloc(0));
    events.connected(socket);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((error) => (error as Error).message).sort()).toEqual(['async', 'connect', 'sync']);
  });
});
