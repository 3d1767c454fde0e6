import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimerLists } from '../../src/hub/timer-lists.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TimerLists', () => {
  it('calls each item once, its own delay after it was added, in arming order', () => {
    const fired: [string, number][] = [];
    const lists = new TimerLists<string>();
    const start = performance.now();
    const list = lists.list((item) => fired.push([item, performance.now() - start]), 1000);
    list.add('a');
    vi.advanceTimersByTime(300);
    list.add('b');
    vi.advanceTimersByTime(699);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(fired.map(([item]) => item)).toEqual(['a']);
    vi.advanceTimersByTime(298);
    expect(fired.map(([item]) => item)).toEqual(['a']);
    vi.advanceTimersByTime(2);
    expect(fired.map(([item]) => item)).toEqual(['a', 'b']);
    // Each within a millisecond or two of its own deadline.
    expect(fired[0]?.[1]).toBeGreaterThanOrEqual(999);
    expect(fired[0]?.[1]).toBeLessThanOrEqual(1002);
    expect(fired[1]?.[1]).toBeGreaterThanOrEqual(1299);
    expect(fired[1]?.[1]).toBeLessThanOrEqual(1302);
    expect(list.size).toBe(0);
  });

  it('forgets a deleted item and stops its Node timer once the list is empty', () => {
    const fired: string[] = [];
    const list = new TimerLists<string>().list((item) => fired.push(item), 500);
    list.add('a');
    list.add('b');
    expect(list.delete('a')).toBe(true);
    expect(list.delete('a')).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    expect(list.delete('b')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([]);
  });

  it('moves a re-added item to the end with a fresh deadline', () => {
    const fired: string[] = [];
    const list = new TimerLists<string>().list((item) => fired.push(item), 1000);
    list.add('a');
    list.add('b');
    vi.advanceTimersByTime(600);
    list.delete('a');
    list.add('a');
    vi.advanceTimersByTime(401);
    expect(fired).toEqual(['b']);
    vi.advanceTimersByTime(600);
    expect(fired).toEqual(['b', 'a']);
  });

  it('lets a callback arm its item again, in the same list or another', () => {
    const lists = new TimerLists<string>();
    const log: string[] = [];
    const timeout = lists.list((item) => log.push(`timeout ${item}`), 300);
    let beats = 0;
    const interval = lists.list(function beat(item) {
      log.push(`beat ${item}`);
      if (++beats < 3) interval.add(item);
      else timeout.add(item);
    }, 100);
    interval.add('x');
    vi.advanceTimersByTime(150);
    // Re-armed from inside its own list's callback: still one Node timer for the list.
    expect(log).toEqual(['beat x']);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(log).toEqual(['beat x', 'beat x', 'beat x', 'timeout x']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps one list per (callback, delay) and separate lists per TimerLists', () => {
    const callback = (): void => undefined;
    const one = new TimerLists<string>();
    const two = new TimerLists<string>();
    expect(one.list(callback, 100)).toBe(one.list(callback, 100));
    expect(one.list(callback, 100)).not.toBe(one.list(callback, 200));
    expect(one.list(callback, 100)).not.toBe(one.list(() => undefined, 100));
    expect(one.list(callback, 100)).not.toBe(two.list(callback, 100));
  });

  it('runs 10 000 items armed over time with one Node timer per list', () => {
    let fired = 0;
    const list = new TimerLists<number>().list(() => fired++, 1000);
    for (let i = 0; i < 10_000; i++) {
      list.add(i);
      if (i % 100 === 99) vi.advanceTimersByTime(1);
    }
    expect(vi.getTimerCount()).toBe(1);
    // Armed from 0 to 100 ms: at 1050 ms, about the first half is due.
    vi.advanceTimersByTime(950);
    expect(fired).toBeGreaterThan(4000);
    expect(fired).toBeLessThan(6000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(200);
    expect(fired).toBe(10_000);
  });

  it('runs the items behind one whose callback throws', () => {
    const fired: string[] = [];
    const list = new TimerLists<string>().list((item) => {
      if (item === 'bad') throw new Error('boom');
      fired.push(item);
    }, 100);
    list.add('bad');
    list.add('good');
    expect(() => vi.advanceTimersByTime(150)).toThrow('boom');
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['good']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
