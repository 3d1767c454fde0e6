/**
 * The one async queue: a producer pushes from callbacks (a socket's events), readers take
 * in order, each waiting while the queue is empty, and ending the queue releases every
 * waiting reader. Every place that hands values from events to `await` or `for await` code
 * uses it (a plain endpoint's messages and errors).
 *
 * A waiting reader is a callback, not a promise: `take()` wraps one in a promise for
 * `await`, and a reader that can do its work in the callback (an async iterator decoding the
 * message before it resolves its own `next()`) spends no second promise on the wait. When a
 * reader waits, a pushed item goes straight to it; the items a burst brings behind it wait
 * in the queue, and the readers take them without waiting at all.
 *
 *   push(item) ──► a waiting reader? ──yes──► reader(item)
 *                        │no
 *                        ▼
 *                  items [head … end) ──► shift() / read(reader) / take()
 *
 * Items sit in an array with a moving head, so taking one is O(1) without `Array#shift`
 * copying the rest; the array is made only once an item has to wait (most queues of idle
 * connections never hold one). Items are never `undefined`: `shift()` uses it for "empty".
 */

/** An object reader: a long-lived reader (an iterator) spends no closure on each wait. */
export interface QueueReceiver<T> {
  receive(item: T | null): void;
}

/** Gets the next item, or null once the queue has ended and is empty. */
export type QueueReader<T> = ((item: T | null) => void) | QueueReceiver<T>;

/** Told whenever a queued item is taken (the queue got shorter): a receive buffer resumes reading. */
export interface QueueWatcher {
  taken(): void;
}

/** Compact the array once this many taken slots sit before the head (and they are half of it). */
const COMPACT_AT = 1024;

export class AsyncQueue<T> {
  private items: T[] | null = null;
  private head = 0;
  /** The longest-waiting reader; those behind it wait in `moreReaders` (rare: one reader is the rule). */
  private reader: QueueReader<T> | null = null;
  private moreReaders: Array<QueueReader<T>> | null = null;
  private isEndedValue = false;

  constructor(private readonly watcher?: QueueWatcher) {}

  /** Items waiting to be taken. */
  get length(): number {
    return this.items === null ? 0 : this.items.length - this.head;
  }

  /** Readers waiting for an item. */
  get waitingReaders(): number {
    return (this.reader === null ? 0 : 1) + (this.moreReaders?.length ?? 0);
  }

  /** Whether `end()` was called (queued items can still be taken). */
  get isEnded(): boolean {
    return this.isEndedValue;
  }

  /** Hands `item` to the longest-waiting reader, or queues it; false (item dropped) once ended. */
  push(item: T): boolean {
    if (this.isEndedValue) return false;
    const reader = this.reader;
    if (reader === null) {
      (this.items ??= []).push(item);
      return true;
    }
    this.reader = this.moreReaders?.shift() ?? null;
    give(reader, item);
    return true;
  }

  /** The next queued item, or undefined when none is queued (never waits). */
  shift(): T | undefined {
    const items = this.items;
    if (items === null || this.head === items.length) return undefined;
    const item = items[this.head] as T;
    // Clear the slot so a taken item is not kept alive by the array.
    items[this.head++] = undefined as T;
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= items.length) {
      items.splice(0, this.head);
      this.head = 0;
    }
    this.watcher?.taken();
    return item;
  }

  /** Gives `reader` the next item: at once if one is queued (or the queue has ended), else when one comes. */
  read(reader: QueueReader<T>): void {
    const item = this.shift();
    if (item !== undefined) give(reader, item);
    else if (this.isEndedValue) give(reader, null);
    else if (this.reader === null) this.reader = reader;
    else (this.moreReaders ??= []).push(reader);
  }

  /** The next item as a promise: null once the queue has ended and is empty. */
  take(): Promise<T | null> {
    return new Promise((resolve) => this.read(resolve));
  }

  /** Takes no more items; every waiting reader gets null. Queued items stay readable. */
  end(): void {
    if (this.isEndedValue) return;
    this.isEndedValue = true;
    const first = this.reader;
    const more = this.moreReaders;
    this.reader = null;
    this.moreReaders = null;
    if (first !== null) give(first, null);
    if (more !== null) for (const reader of more) give(reader, null);
  }
}

function give<T>(reader: QueueReader<T>, item: T | null): void {
  if (typeof reader === 'function') reader(item);
  else reader.receive(item);
}

/** What an iteration does with one item: yield a value, `SKIP` the item, or `STOP` (the iteration ends). */
export const SKIP: unique symbol = Symbol('skip');
export const STOP: unique symbol = Symbol('stop');
export type Step<V> = V | typeof SKIP | typeof STOP;

/** Maps each item of an iteration (an object, so an iterator holds no closure). */
export interface QueueStepper<T, V> {
  step(item: T): Step<V>;
}

/** Yields every item as it is. */
export const AS_IS: QueueStepper<unknown, unknown> = Object.freeze({ step: (item: unknown) => item });

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * `for await` over a queue: each `next()` takes the next item and maps it through the
 * stepper (decoding, say). A `next()` that finds an item queued resolves at once; one that
 * must wait registers the iterator itself as the queue's reader, so the wait costs the one
 * promise `next()` returns and nothing else. It ends once the queue has ended and is empty,
 * a step says `STOP`, or `return()` is called (`break`).
 */
export class QueueIterator<T, V> implements AsyncIterableIterator<V>, QueueReceiver<T> {
  private isDone = false;
  /** The pending `next()` (one at a time with `for await`; an overlapping one waits through a closure). */
  private resolve: ((result: IteratorResult<V>) => void) | null = null;

  constructor(
    private readonly queue: AsyncQueue<T>,
    private readonly stepper: QueueStepper<T, V>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<V>> {
    while (!this.isDone) {
      const item = this.queue.shift();
      if (item === undefined) break;
      const result = this.resultOf(item);
      if (result !== null) return Promise.resolve(result);
    }
    if (this.isDone || this.queue.isEnded) return this.finish();
    return new Promise((resolve) => {
      if (this.resolve === null) {
        this.resolve = resolve;
        this.queue.read(this);
      } else {
        this.queue.read((item) => this.settle(resolve, item));
      }
    });
  }

  return(): Promise<IteratorResult<V>> {
    return this.finish();
  }

  /** @internal (QueueReceiver) the item the pending `next()` waited for */
  receive(item: T | null): void {
    const resolve = this.resolve as (result: IteratorResult<V>) => void;
    this.resolve = null;
    this.settle(resolve, item);
  }

  private settle(resolve: (result: IteratorResult<V>) => void, item: T | null): void {
    if (item === null) {
      this.isDone = true;
      resolve(DONE);
      return;
    }
    const result = this.resultOf(item);
    if (result !== null) {
      resolve(result);
      return;
    }
    // Skipped: wait for the next one.
    if (this.resolve === null) {
      this.resolve = resolve;
      this.queue.read(this);
    } else {
      this.queue.read((next) => this.settle(resolve, next));
    }
  }

  /** The iterator result of one item, or null to skip it. */
  private resultOf(item: T): IteratorResult<V> | null {
    const value = this.stepper.step(item);
    if (value === SKIP) return null;
    if (value === STOP) {
      this.isDone = true;
      return DONE;
    }
    return { value, done: false };
  }

  private finish(): Promise<IteratorResult<V>> {
    this.isDone = true;
    return Promise.resolve(DONE);
  }
}
