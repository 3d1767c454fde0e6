import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/options.js';

describe('options of rooms, sac-sock and shutdown', () => {
  it('has working defaults', () => {
    const options = resolveOptions({});
    expect(options).toMatchObject({
      sacSockPath: '/socket',
      sacSockMaxMessageBytes: 1024 * 1024,
      sacSockOrigins: 'same-origin',
      drainTimeoutMs: 5_000,
      handleSignals: false,
      adapter: undefined,
    });
  });

  it.each([
    [{ sacSockPath: 'socket' }, /sacSockPath/],
    [{ sacSockPath: '/a b' }, /sacSockPath/],
    [{ sacSockMaxMessageBytes: 0 }, /sacSockMaxMessageBytes/],
    [{ sacSockMaxMessageBytes: -1 }, /sacSockMaxMessageBytes/],
    [{ drainTimeoutMs: -5 }, /drainTimeoutMs/],
    [{ drainTimeoutMs: Number.NaN }, /drainTimeoutMs/],
  ])('refuses %j', (options, message) => {
    expect(() => resolveOptions(options)).toThrow(message);
  });

  it('accepts sacSockPath false and a drain deadline of 0', () => {
    expect(resolveOptions({ sacSockPath: false, drainTimeoutMs: 0 })).toMatchObject({
      sacSockPath: false,
      drainTimeoutMs: 0,
    });
  });
});
