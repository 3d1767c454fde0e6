import { describe, expect, it } from 'vitest';
import { SendQueue } from '../../src/session/send-queue.js';

describe('SendQueue', () => {
  it('keeps frames in order and drains them all', () => {
    const queue = new SendQueue({ maxQueueMessages: 10, maxQueueBytes: 100 });
    expect(queue.push('a', 1)).toBe(true);
    expect(queue.push('bb', 2)).toBe(true);
    expect(queue.length).toBe(2);
    expect(queue.bytes).toBe(3);
    expect(queue.drain()).toEqual({ frames: ['a', 'bb'], bytes: 3 });
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('refuses the frame that would cross the count bound, and counts it', () => {
    const queue = new SendQueue({ maxQueueMessages: 2, maxQueueBytes: 100 });
    expect(queue.push('a', 1)).toBe(true);
    expect(queue.push('b', 1)).toBe(true);
    expect(queue.push('c', 1)).toBe(false);
    expect(queue.overflows).toBe(1);
    expect(queue.drain().frames).toEqual(['a', 'b']);
  });

  it('refuses the frame that would cross the byte bound, and counts it', () => {
    const queue = new SendQueue({ maxQueueMessages: 100, maxQueueBytes: 5 });
    expect(queue.push('abc', 3)).toBe(true);
    expect(queue.push('def', 3)).toBe(false);
    expect(queue.push('de', 2)).toBe(true);
    expect(queue.push('', 0)).toBe(true);
    expect(queue.overflows).toBe(1);
    expect(queue.bytes).toBe(5);
  });

  it('puts drained frames back at the head, over the bounds if need be', () => {
    const queue = new SendQueue({ maxQueueMessages: 2, maxQueueBytes: 100 });
    queue.push('a', 1);
    queue.push('b', 1);
    const drained = queue.drain();
    queue.push('c', 1);
    queue.unshift(drained.frames, drained.bytes);
    expect(queue.length).toBe(3);
    expect(queue.drain()).toEqual({ frames: ['a', 'b', 'c'], bytes: 3 });
  });
});
