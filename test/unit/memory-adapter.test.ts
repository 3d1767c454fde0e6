import { describe, expect, it } from 'vitest';
import { MemoryAdapter } from '../../src/hub/adapter.js';
import { runAdapterContract, RecordingMember } from '../contract/adapter.contract.js';

runAdapterContract('MemoryAdapter', { create: () => new MemoryAdapter() });

describe('MemoryAdapter specifics', () => {
  it('refuses a second member with the same id', () => {
    const adapter = new MemoryAdapter();
    adapter.addMember(new RecordingMember('a'));
    expect(() => adapter.addMember(new RecordingMember('a'))).toThrow(/already added/);
  });

  it('keeps two adapters apart', () => {
    const one = new MemoryAdapter();
    const two = new MemoryAdapter();
    one.addMember(new RecordingMember('a'));
    one.join('a', 'lobby');
    expect(two.members('lobby').size).toBe(0);
    expect(two.size).toBe(0);
  });
});
