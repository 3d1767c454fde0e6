/**
 * The Adapter contract, parametrised by a factory: every adapter (MemoryAdapter now, a
 * Redis adapter later) must pass it. Members are recording fakes of the Member interface;
 * assertions wait with `waitFor` so an adapter that delivers asynchronously passes too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RealtimeError } from '../../src/errors.js';
import { privateRoom, type Adapter } from '../../src/hub/adapter.js';
import type { SendResult } from '../../src/hub/results.js';
import type { Member } from '../../src/hub/member.js';
import { PreparedMessage } from '../../src/hub/prepared.js';
import { waitFor } from '../helpers/wait-for.js';

/** A Member that records what reaches it; `refuse` makes it refuse, `explode` makes it throw. */
export class RecordingMember implements Member {
  readonly received: PreparedMessage[] = [];
  refuse = false;
  explode = false;
  onDeliver: ((message: PreparedMessage) => void) | undefined;

  constructor(readonly id: string) {}

  deliver(message: PreparedMessage): SendResult {
    this.onDeliver?.(message);
    if (this.explode) throw new Error('deliver exploded');
    if (this.refuse) return { ok: false, error: new RealtimeError('ERR_QUEUE_FULL', 'full') };
    this.received.push(message);
    return { ok: true };
  }

  values(): unknown[] {
    return this.received.map((message) => message.value);
  }
}

export interface AdapterFactory {
  create(): Adapter | Promise<Adapter>;
}

export function runAdapterContract(name: string, factory: AdapterFactory): void {
  describe(`Adapter contract: ${name}`, () => {
    let adapter: Adapter;
    afterEach(async () => {
      await adapter?.close();
    });

    async function withMembers(...ids: string[]): Promise<RecordingMember[]> {
      adapter = await factory.create();
      return ids.map((id) => {
        const member = new RecordingMember(id);
        adapter.addMember(member);
        return member;
      });
    }

    /**
     * Proves `member` got nothing before now: a marker socketcast must be the first thing
     * it receives (an asynchronous adapter delivers to one member in order).
     */
    async function expectNothingBefore(member: RecordingMember | undefined): Promise<void> {
      if (member === undefined) throw new Error('member missing');
      adapter.fanOut(new PreparedMessage('marker'), { rooms: [privateRoom(member.id)] });
      await waitFor(() => member.received.length > 0);
      expect(member.values()).toEqual(['marker']);
    }

    describe('membership', () => {
      it('puts every member in its private room __socket_id:<id>', async () => {
        await withMembers('a', 'b');
        expect([...adapter.rooms('a')]).toEqual([privateRoom('a')]);
        expect(privateRoom('a')).toBe('__socket_id:a');
        expect([...adapter.members('__socket_id:b')]).toEqual(['b']);
        expect(adapter.size).toBe(2);
      });

      it('joins idempotently and lists the rooms of a member', async () => {
        await withMembers('a');
        expect(adapter.join('a', 'lobby')).toBe(true);
        expect(adapter.join('a', 'lobby')).toBe(true);
        expect(adapter.join('a', 'kitchen')).toBe(true);
        expect(new Set(adapter.rooms('a'))).toEqual(new Set([privateRoom('a'), 'lobby', 'kitchen']));
        expect([...adapter.members('lobby')]).toEqual(['a']);
      });

      it('leaves a room, forgets an empty one, and ignores leaving a room it is not in', async () => {
        await withMembers('a', 'b');
        adapter.join('a', 'lobby');
        adapter.join('b', 'lobby');
        expect(adapter.leave('a', 'lobby')).toBe(true);
        expect([...adapter.members('lobby')]).toEqual(['b']);
        expect(adapter.leave('a', 'nowhere')).toBe(true);
        adapter.leave('b', 'lobby');
        expect(adapter.members('lobby').size).toBe(0);
        expect(adapter.rooms('a').has('lobby')).toBe(false);
      });

      it('refuses join and leave of unknown members, creating no room', async () => {
        await withMembers('a');
        expect(adapter.join('ghost', 'lobby')).toBe(false);
        expect(adapter.leave('ghost', 'lobby')).toBe(false);
        expect(adapter.members('lobby').size).toBe(0);
        expect(adapter.rooms('ghost').size).toBe(0);
      });

      it('removes a member from every room on disconnect, and a removed member cannot rejoin', async () => {
        await withMembers('a', 'b');
        adapter.join('a', 'lobby');
        adapter.join('a', 'kitchen');
        adapter.removeMember('a');
        expect(adapter.rooms('a').size).toBe(0);
        expect(adapter.members('lobby').size).toBe(0);
        expect(adapter.members(privateRoom('a')).size).toBe(0);
        expect(adapter.join('a', 'lobby')).toBe(false);
        expect(adapter.size).toBe(1);
      });
    });

    describe('fan-out', () => {
      it('broadcasts one prepared message to every member once', async () => {
        const [a, b, c] = await withMembers('a', 'b', 'c');
        adapter.join('a', 'lobby');
        const message = new PreparedMessage('hi');
        expect(adapter.fanOut(message, {})).toEqual({ delivered: 3, refused: 0 });
        await waitFor(() => [a, b, c].every((m) => m?.received.length === 1));
        for (const member of [a, b, c]) expect(member?.received[0]).toBe(message);
      });

      it('skips exactly the excluded members', async () => {
        const [a, b, c] = await withMembers('a', 'b', 'c');
        const report = adapter.fanOut(new PreparedMessage('x'), { except: new Set(['b']) });
        expect(report).toEqual({ delivered: 2, refused: 0 });
        await waitFor(() => a?.received.length === 1 && c?.received.length === 1);
        await expectNothingBefore(b);
      });

      it('roomcasts to the members of a room only, and to several rooms once each', async () => {
        const [a, b, c] = await withMembers('a', 'b', 'c');
        adapter.join('a', 'lobby');
        adapter.join('b', 'lobby');
        adapter.join('b', 'kitchen');
        expect(adapter.fanOut(new PreparedMessage(1, 'n'), { rooms: ['lobby'] })).toEqual({ delivered: 2, refused: 0 });
        expect(adapter.fanOut(new PreparedMessage(2, 'n'), { rooms: ['lobby', 'kitchen'] })).toEqual({
          delivered: 2,
          refused: 0,
        });
        await waitFor(() => a?.received.length === 2 && b?.received.length === 2);
        expect(b?.values()).toEqual([1, 2]);
        await expectNothingBefore(c);
      });

      it('roomcasts with except', async () => {
        const [a, b] = await withMembers('a', 'b');
        adapter.join('a', 'lobby');
        adapter.join('b', 'lobby');
        expect(adapter.fanOut(new PreparedMessage('x'), { rooms: ['lobby'], except: new Set(['a']) })).toEqual({
          delivered: 1,
          refused: 0,
        });
        await waitFor(() => b?.received.length === 1);
        await expectNothingBefore(a);
      });

      it('socketcasts through the private room', async () => {
        const [a, b] = await withMembers('a', 'b');
        const report = adapter.fanOut(new PreparedMessage('only you', 'dm'), { rooms: [privateRoom('b')] });
        expect(report).toEqual({ delivered: 1, refused: 0 });
        await waitFor(() => b?.received.length === 1);
        expect(b?.received[0]?.event).toBe('dm');
        await expectNothingBefore(a);
      });

      it('reaches nobody in an empty or unknown room', async () => {
        const [a] = await withMembers('a');
        expect(adapter.fanOut(new PreparedMessage('x'), { rooms: ['nowhere'] })).toEqual({ delivered: 0, refused: 0 });
        await expectNothingBefore(a);
      });

      it('gives nothing to a member that left the room or disconnected', async () => {
        const [a, b, c] = await withMembers('a', 'b', 'c');
        for (const id of ['a', 'b', 'c']) adapter.join(id, 'lobby');
        adapter.leave('a', 'lobby');
        adapter.removeMember('b');
        expect(adapter.fanOut(new PreparedMessage('x'), { rooms: ['lobby'] })).toEqual({ delivered: 1, refused: 0 });
        expect(adapter.fanOut(new PreparedMessage('y'), {})).toEqual({ delivered: 2, refused: 0 });
        await waitFor(() => c?.received.length === 2 && a?.received.length === 1);
        expect(a?.values()).toEqual(['y']);
        expect(b?.received).toEqual([]);
      });

      it('counts refusals and throws without stopping the other members', async () => {
        const [a, b, c, d] = await withMembers('a', 'b', 'c', 'd');
        if (a === undefined || b === undefined) throw new Error('members missing');
        a.refuse = true;
        b.explode = true;
        expect(adapter.fanOut(new PreparedMessage('x'), {})).toEqual({ delivered: 2, refused: 2 });
        await waitFor(() => c?.received.length === 1 && d?.received.length === 1);
      });

      it('survives a member that disconnects while the fan-out runs', async () => {
        const [a, b, c] = await withMembers('a', 'b', 'c');
        if (a === undefined) throw new Error('member missing');
        // A slow consumer closed by its own queue policy leaves mid-iteration.
        a.onDeliver = () => adapter.removeMember('a');
        const report = adapter.fanOut(new PreparedMessage('x'), {});
        expect(report.delivered).toBe(3);
        await waitFor(() => b?.received.length === 1 && c?.received.length === 1);
        expect(adapter.size).toBe(2);
      });

      it('lets every member share one encoding per format', async () => {
        await withMembers('a', 'b', 'c');
        let encodings = 0;
        const message = new PreparedMessage({ big: 'payload' });
        for (const id of ['a', 'b', 'c']) {
          // Members of one wire format ask for the same key; the encoder runs once.
          const member = new RecordingMember(`${id}-fmt`);
          member.onDeliver = (m) =>
            m.encoded('fmt', () => {
              encodings++;
              return 'encoded';
            });
          adapter.addMember(member);
        }
        adapter.fanOut(message, {});
        await waitFor(() => encodings > 0);
        expect(encodings).toBe(1);
      });
    });
  });
}
