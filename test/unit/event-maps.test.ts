/**
 * Typed event maps and handler return types are compile-time contracts: `npm run typecheck`
 * (part of `npm test`) compiles this file, so a `@ts-expect-error` that no longer errs, or a
 * call that no longer compiles, fails the suite. The runtime checks make sure the typed calls
 * still reach the wire unchanged.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { Socket } from '../../src/hub/rooms.js';
import type { BroadcastReport } from '../../src/server.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { createServer } from '../../src/server.js';

interface ClientEvents {
  chat: string;
  message: { text: string };
}
interface ServerEvents {
  chat: { nick: string; text: string };
  message: string;
}

let started: StartedServer | undefined;
afterEach(async () => {
  await started?.close();
  started = undefined;
});

describe('typed event maps', () => {
  it('checks event names and data against the maps, and leaves the wire alone', async () => {
    const server = createServer<ClientEvents, ServerEvents>({ flashPolicyPort: false });
    server.onEvent('chat', (socket, data) => {
      expectTypeOf(data).toEqualTypeOf<Buffer>();
      expectTypeOf(socket).toEqualTypeOf<Socket<ServerEvents>>();
      // An expression-bodied arrow returning a report compiles (handlers may return anything).
      return server.to('lobby').emit('chat', { nick: 'a', text: data.toString() });
    });
    // @ts-expect-error -- not an event clients send
    server.onEvent('nope', () => undefined);
    // @ts-expect-error -- wrong data for `chat`
    server.roomcast('lobby', 'chat', 'just text');
    // @ts-expect-error -- wrong type for a plain message
    server.broadcast({ text: 1 });
    server.onMessage((conn, data) => expectTypeOf(data).toEqualTypeOf<{ text: string }>());
    expectTypeOf(server.broadcast('plain')).toEqualTypeOf<BroadcastReport>();
    expectTypeOf(server.broadcastEvent('chat', { nick: 'b', text: 'hi' })).toEqualTypeOf<BroadcastReport>();

    // At run time nothing changed: the event is sent as the same JSON.
    await server.listen({ port: 0, host: '127.0.0.1' });
    started = { server, baseUrl: server.url, wsUrl: '', close: () => server.close() } as unknown as StartedServer;
    expect(server.broadcastEvent('chat', { nick: 'b', text: 'hi' })).toEqual({ delivered: 0, refused: 0 });
  });

  it('keeps an untyped server untyped', async () => {
    started = await startServer();
    const { server } = started;
    server.onEvent('anything', (socket, data) => server.roomcast('r', 'x', data.toString()));
    server.onSocketConnect((socket) => socket.emit('hello', { any: 'thing' }));
    server.onMessage((conn, data) => expectTypeOf(data).toEqualTypeOf<unknown>());
    expect(server.broadcast({ any: 1 })).toEqual({ delivered: 0, refused: 0 });
  });
});
