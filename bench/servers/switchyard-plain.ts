/**
 * A Switchyard plain RFC 6455 endpoint in text mode (`server.websocket('/plain', {mode:
 * 'text'}, handler)`), on the same server as the legacy resource. The handler reads
 * `conn.messages` and answers with `conn.send`; fan-out goes through the server's room API
 * (plain connections are members: `broadcast`, `join`, `to(room).send`).
 *
 * Like bench/servers/switchyard.ts it runs the compiled build (dist/); the types come from
 * the sources. Every connection comes from 127.0.0.1, so the per-address cap is off (D opens
 * 5000). bench/servers/switchyard-plain-fast.ts is the same endpoint through the `onMessage`
 * fast path.
 */
import type * as Sources from '../../src/index.js';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const build = new URL('../../dist/index.js', import.meta.url).href;
const { createServer } = (await import(build)) as typeof Sources;

/** Where the load generator's `plain` connector connects. */
const PATH = '/plain';
const ROOM = 'bench';

const server = createServer({ maxConnectionsPerAddress: 0 });

server.websocket<string>(PATH, { mode: 'text' }, async (conn) => {
  for await (const text of conn.messages) {
    const trigger = parseTrigger(text);
    if (trigger === null) {
      await conn.send(text);
      continue;
    }
    if (trigger.kind === 'join') {
      server.join(conn, ROOM);
      await conn.send(JOINED);
      continue;
    }
    const payload = payloadOf(trigger.size);
    for (let i = 0; i < trigger.count; i++) {
      if (trigger.kind === 'bcast') server.broadcast(payload);
      else server.to(ROOM).send(payload);
    }
  }
});

const url = await server.listen({ port: 0, host: HOST });
reportReady(Number(new URL(url).port));
