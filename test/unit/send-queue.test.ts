import { describe, expect, it } from 'vitest';
import { SendQueue } from '../../src/session/send-queue.js';

describe('SendQueue', () => {
  it('keeps frames in order with their numbers and drains them all', () => {
    const queue = new SendQueue({ maxQueueMessages: 10, maxQueueBytes: 100 });
    expect(queue.push('a', 1, 1)).toBe(true);
    expect(queue.push('bb', 2, 2)).toBe(true);
    expect(queue.length).toBe(2);
    expect(queue.bytes).toBe(3);
    expect(queue.lastSeq).toBe(2);
    expect(queue.drain()).toEqual({ frames: ['a', 'bb'], seqs: [1, 2], bytes: 3 });
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('refuses the frame that would cross the count bound, and counts it', () => {
    const queue = new SendQueue({ maxQueueMessages: 2, maxQueueBytes: 100 });
    expect(queue.push('a', 1, 1)).toBe(true);
    expect(queue.push('b', 1, 2)).toBe(true);
    expect(queue.push('c', 1, 3)).toBe(false);
    expect(queue.overflows).toBe(1);
    expect(queue.drain().frames).toEqual(['a', 'b']);
  });

  it('refuses the frame that would cross the byte bound, and counts it', () => {
    const queue = new SendQueue({ maxQueueMessages: 100, maxQueueBytes: 5 });
    expect(queue.push('abc', 3, 1)).toBe(true);
    expect(queue.push('def', 3, 2)).toBe(false);
    expect(queue.push('de', 2, 2)).toBe(true);
    expect(queue.push('', 0, 3)).toBe(true);
    expect(queue.overflows).toBe(1);
    expect(queue.bytes).toBe(5);
  });

  it('puts drained frames back at the head, over the bounds if need be', () => {
    const queue = new SendQueue({ maxQueueMessages: 2, maxQueueBytes: 100 });
    queue.push('a', 1, 1);
    queue.push('b', 1, 2);
    const drained = queue.drain();
    queue.push('c', 1, 3);
    queue.unshift(drained);
    expect(queue.length).toBe(3);
    expect(queue.drain()).toEqual({ frames: ['a', 'b', 'c'], seqs: [1, 2, 3], bytes: 3 });
  });

  it('drops the frames the client has (up to a number), gaps allowed', () => {
    const queue = new SendQueue({ maxQueueMessages: 10, maxQueueBytes: 100 });
    for (const [frame, seq] of [
      ['a', 2],
      ['bb', 5],
      ['c', 9],
    ] as const)
      queue.push(frame, frame.length, seq);
    expect(queue.dropThrough(4)).toBe(1);
    expect(queue.dropThrough(4)).toBe(0);
    expect(queue.drain()).toEqual({ frames: ['bb', 'c'], seqs: [5, 9], bytes: 3 });
  });
});
