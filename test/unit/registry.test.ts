import { describe, expect, it } from 'vitest';
import { RealtimeError } from '../../src/errors.js';
import { Conn } from '../../src/session/conn.js';
import { SESSION_ID_PATTERN } from '../../src/hub/ids.js';
import { ConnectionBudget, type BudgetLimits } from '../../src/http/budget.js';
import { Registry } from '../../src/session/registry.js';
import { FakeTransport, RecordingHooks, TEST_SESSION_OPTIONS } from '../helpers/fake-transport.js';

function makeRegistry(limits: Partial<BudgetLimits> = {}): {
  registry: Registry;
  budget: ConnectionBudget;
  hooks: RecordingHooks;
} {
  const hooks = new RecordingHooks();
  const budget = new ConnectionBudget({ maxConnections: 0, maxConnectionsPerAddress: 0, ...limits });
  const registry = new Registry(TEST_SESSION_OPTIONS, budget, hooks);
  return { registry, budget, hooks };
}

function created(value: Conn | RealtimeError): Conn {
  if (!(value instanceof Conn)) throw value;
  return value;
}

describe('Registry', () => {
  it('creates sessions with distinct 16-character ids from 0-9A-Za-z', () => {
    const { registry } = makeRegistry();
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) ids.add(created(registry.create('websocket', '127.0.0.1')).sessionId);
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(SESSION_ID_PATTERN);
    expect(registry.size).toBe(200);
  });

  it('forgets a session when it closes, before the server hears of it', () => {
    const { registry, hooks } = makeRegistry();
    const conn = created(registry.create('websocket', '127.0.0.1'));
    let sizeSeen = -1;
    hooks.onClose = () => {
      sizeSeen = registry.size;
    };
    conn.attach(new FakeTransport(conn));
    expect(registry.get(conn.sessionId)).toBe(conn);
    conn.close();
    expect(registry.get(conn.sessionId)).toBeUndefined();
    expect(sizeSeen).toBe(0);
  });

  it('refuses past maxConnections with ERR_SERVER_FULL (503), and takes more once one closes', () => {
    const { registry } = makeRegistry({ maxConnections: 2 });
    const first = created(registry.create('websocket', '10.0.0.1'));
    created(registry.create('xhr-polling', '10.0.0.2'));
    const refused = registry.create('websocket', '10.0.0.3');
    expect(refused).toBeInstanceOf(RealtimeError);
    expect((refused as RealtimeError).code).toBe('ERR_SERVER_FULL');
    expect((refused as RealtimeError).httpStatus).toBe(503);
    first.close();
    expect(registry.create('websocket', '10.0.0.3')).toBeInstanceOf(Conn);
  });

  it('refuses past maxConnectionsPerAddress with 429, per address', () => {
    const { registry } = makeRegistry({ maxConnectionsPerAddress: 1 });
    const first = created(registry.create('websocket', '10.0.0.1'));
    expect((registry.create('websocket', '10.0.0.1') as RealtimeError).httpStatus).toBe(429);
    expect(registry.create('websocket', '10.0.0.2')).toBeInstanceOf(Conn);
    first.close();
    expect(registry.create('websocket', '10.0.0.1')).toBeInstanceOf(Conn);
  });

  it('keeps two registries apart', () => {
    const a = makeRegistry().registry;
    const b = makeRegistry().registry;
    const conn = created(a.create('websocket', '127.0.0.1'));
    expect(b.get(conn.sessionId)).toBeUndefined();
    expect(b.size).toBe(0);
  });

  it('counts reserved connections of other protocols in the same budget; a release frees the place once', () => {
    const { registry, budget } = makeRegistry({ maxConnections: 3, maxConnectionsPerAddress: 2 });
    created(registry.create('websocket', 'a'));
    const release = budget.reserve('a');
    expect(release).toBeTypeOf('function');
    expect(budget.reserve('a')).toMatchObject({ code: 'ERR_TOO_MANY_SESSIONS_FROM_ADDRESS' });
    expect(registry.create('xhr-polling', 'a')).toMatchObject({ code: 'ERR_TOO_MANY_SESSIONS_FROM_ADDRESS' });
    expect(budget.reserve('b')).toBeTypeOf('function');
    expect(budget.total).toBe(3);
    expect(registry.size).toBe(1);
    expect(registry.create('websocket', 'c')).toMatchObject({ code: 'ERR_SERVER_FULL' });
    expect(budget.check('c')).toMatchObject({ code: 'ERR_SERVER_FULL' });
    (release as () => void)();
    (release as () => void)();
    expect(budget.total).toBe(2);
    expect(budget.check('c')).toBeNull();
    expect(registry.create('websocket', 'a')).toBeInstanceOf(Conn);
  });
});
