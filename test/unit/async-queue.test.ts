import { describe, expect, it } from 'vitest';
import { AS_IS, AsyncQueue, QueueIterator, SKIP, STOP, type QueueStepper } from '../../src/hub/async-queue.js';

/** Collects what `for await` yields until the iteration ends. */
async function drain<V>(iterable: AsyncIterable<V>): Promise<V[]> {
  const seen: V[] = [];
  for await (const value of iterable) seen.push(value);
  return seen;
}

const asIs = <T>() => AS_IS as QueueStepper<T, T>;

describe('AsyncQueue', () => {
  it('queues items while nobody waits and hands them out in order', () => {
    const queue = new AsyncQueue<string>();
    expect(queue.shift()).toBeUndefined();
    queue.push('a');
    queue.push('b');
    expect(queue.length).toBe(2);
    expect(queue.shift()).toBe('a');
    expect(queue.shift()).toBe('b');
    expect(queue.shift()).toBeUndefined();
    expect(queue.length).toBe(0);
  });

  it('gives a pushed item straight to the longest-waiting reader, callbacks and objects alike', async () => {
    const queue = new AsyncQueue<number>();
    const got: Array<[string, number | null]> = [];
    queue.read((item) => got.push(['first', item]));
    queue.read({ receive: (item) => got.push(['second', item]) });
    const third = queue.take();
    expect(queue.waitingReaders).toBe(3);
    queue.push(1);
    queue.push(2);
    queue.push(3);
    queue.push(4);
    expect(got).toEqual([
      ['first', 1],
      ['second', 2],
    ]);
    expect(await third).toBe(3);
    expect(queue.length).toBe(1);
    expect(queue.waitingReaders).toBe(0);
  });

  it('ends: waiting readers get null, queued items stay readable, pushes are refused', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('kept');
    const early = queue.take();
    expect(await early).toBe('kept');
    const waiting = queue.take();
    queue.end();
    expect(await waiting).toBeNull();
    expect(queue.push('late')).toBe(false);
    expect(await queue.take()).toBeNull();
    expect(queue.isEnded).toBe(true);

    const other = new AsyncQueue<string>();
    other.push('x');
    other.end();
    expect(await other.take()).toBe('x');
    expect(await other.take()).toBeNull();
  });

  it('tells its watcher whenever a queued item is taken, not when one goes straight to a reader', () => {
    let taken = 0;
    const queue = new AsyncQueue<number>({ taken: () => taken++ });
    queue.read(() => undefined);
    queue.push(1);
    expect(taken).toBe(0);
    queue.push(2);
    queue.push(3);
    queue.shift();
    queue.read(() => undefined);
    expect(taken).toBe(2);
  });

  it('keeps order over many items with the head moving (and compacting) as it goes', () => {
    const queue = new AsyncQueue<number>();
    const out: number[] = [];
    let next = 0;
    // Interleave pushes and takes so the head runs far ahead of the array's start.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) queue.push(next++);
      for (let i = 0; i < 60; i++) out.push(queue.shift() as number);
    }
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});

describe('QueueIterator', () => {
  it('yields queued items at once, waits for later ones, and ends with the queue', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a');
    const seen = drain(new QueueIterator(queue, asIs<string>()));
    queue.push('b');
    await Promise.resolve();
    queue.push('c');
    queue.end();
    expect(await seen).toEqual(['a', 'b', 'c']);
  });

  it('maps through its stepper: SKIP drops an item, STOP ends the iteration and leaves the rest', async () => {
    const queue = new AsyncQueue<number>();
    for (const item of [1, -1, 2, 0, 3]) queue.push(item);
    const stepper: QueueStepper<number, string> = {
      step: (item) => (item < 0 ? SKIP : item === 0 ? STOP : `#${item}`),
    };
    expect(await drain(new QueueIterator(queue, stepper))).toEqual(['#1', '#2']);
    expect(queue.shift()).toBe(3);
  });

  it('skips while waiting too: a skipped item that arrives later does not end the wait', async () => {
    const queue = new AsyncQueue<number>();
    const iterator = new QueueIterator<number, number>(queue, { step: (item) => (item % 2 === 0 ? SKIP : item) });
    const next = iterator.next();
    queue.push(2);
    queue.push(4);
    queue.push(5);
    expect(await next).toEqual({ value: 5, done: false });
  });

  it('break ends the iteration without taking anything more', async () => {
    const queue = new AsyncQueue<number>();
    for (let i = 1; i <= 5; i++) queue.push(i);
    const seen: number[] = [];
    for await (const item of new QueueIterator(queue, asIs<number>())) {
      seen.push(item);
      if (item === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(queue.length).toBe(3);
  });

  it('serves overlapping next() calls in order', async () => {
    const queue = new AsyncQueue<string>();
    const iterator = new QueueIterator(queue, asIs<string>());
    const first = iterator.next();
    const second = iterator.next();
    queue.push('x');
    queue.push('y');
    expect(await first).toEqual({ value: 'x', done: false });
    expect(await second).toEqual({ value: 'y', done: false });
    queue.end();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});
