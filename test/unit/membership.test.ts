/**
 * One node's presence and answers (hub/membership.ts over MemoryAdapter): every join and leave
 * is news, after the change; a member that moved to another node does not leave; the room log
 * keeps the newest entries of a bounded number of rooms.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAdapter } from '../../src/hub/adapter.js';
import { localQueries, MemoryRoomLog, type PresenceEvent } from '../../src/hub/membership.js';
import { RecordingMember } from '../contract/adapter.contract.js';

/** Presence events after the microtasks they are emitted in. */
async function settled(events: PresenceEvent[]): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return events.map((e) => `${e.type}:${e.room}:${e.memberId}${e.type === 'leave' ? `:${e.reason}` : ''}`);
}

describe('presence on one node', () => {
  it('tells every join and leave, with why it left, after the change', async () => {
    const adapter = new MemoryAdapter();
    const events: PresenceEvent[] = [];
    adapter.onPresence((event) => void events.push(event));
    adapter.addMember(new RecordingMember('a'));
    adapter.addMember(new RecordingMember('b'));
    adapter.join('a', 'lobby');
    // Told after the change, never inside join(): a listener may join and leave too.
    expect(events).toEqual([]);
    adapter.join('a', 'lobby'); // no change, no news
    adapter.join('b', 'lobby');
    adapter.leave('b', 'lobby');
    adapter.removeMember('a');
    expect(await settled(events)).toEqual([
      'join:lobby:a',
      'join:lobby:b',
      'leave:lobby:b:left',
      'leave:lobby:a:ended',
    ]);
    expect(events[0]!.member?.id).toBe('a');
  });

  it('a member that moved to another node does not leave', async () => {
    const adapter = new MemoryAdapter();
    const events: PresenceEvent[] = [];
    adapter.onPresence((event) => void events.push(event));
    adapter.addMember(new RecordingMember('a'));
    adapter.join('a', 'lobby');
    adapter.removeMember('a', 'moved');
    expect(await settled(events)).toEqual(['join:lobby:a']);
    expect(adapter.members('lobby').size).toBe(0);
  });

  it('answers the cluster-wide questions for itself', async () => {
    const adapter = new MemoryAdapter();
    adapter.addMember(new RecordingMember('a'));
    adapter.join('a', 'lobby');
    const queries = localQueries(adapter);
    expect(await queries.membersOf('lobby')).toEqual(['a']);
    expect(await queries.countOf('lobby')).toBe(1);
    expect(await queries.roomsOf('a')).toEqual(['__socket_id:a', 'lobby']);
    expect(await queries.isInRoom('a', 'elsewhere')).toBe(false);
    expect(await queries.roomCount()).toBe(1);
  });
});

describe('MemoryRoomLog', () => {
  it('keeps the newest entries per room, oldest first', async () => {
    const log = new MemoryRoomLog();
    for (let i = 1; i <= 5; i++) await log.append('r', String(i), 3);
    expect(await log.read('r')).toEqual(['3', '4', '5']);
    expect(await log.read('other')).toEqual([]);
  });

  it('forgets the longest unused room beyond 10 000 rooms', async () => {
    const log = new MemoryRoomLog();
    for (let i = 0; i <= 10_000; i++) await log.append(`room-${i}`, 'x', 1);
    expect(await log.read('room-0')).toEqual([]);
    expect(await log.read('room-1')).toEqual(['x']);
    expect(await log.read('room-10000')).toEqual(['x']);
  });
});
