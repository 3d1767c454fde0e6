/**
 * The plain endpoint of bench/servers/switchyard-plain.ts (text mode, same server, same
 * path), written the way the fast path is meant to be used: `conn.onMessage(handler)` gets
 * each message as it arrives (no async iterator, no promise per message) and answers with
 * `conn.send`, which returns a shared resolved promise when it could write at once. Fan-out
 * goes through the server's room API, as in the iterator row.
 */
import type * as Sources from '../../src/index.js';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const build = new URL('../../dist/index.js', import.meta.url).href;
const { createServer } = (await import(build)) as typeof Sources;

/** Where the load generator's `plain` connector connects. */
const PATH = '/plain';
const ROOM = 'bench';

// Every connection comes from 127.0.0.1: no per-address cap (D opens 5000).
const server = createServer({ maxConnectionsPerAddress: 0 });

server.websocket<string>(PATH, { mode: 'text' }, (conn) => {
  conn.onMessage((text) => {
    const trigger = parseTrigger(text);
    if (trigger === null) return conn.send(text);
    if (trigger.kind === 'join') {
      server.join(conn, ROOM);
      return conn.send(JOINED);
    }
    const payload = payloadOf(trigger.size);
    for (let i = 0; i < trigger.count; i++) {
      if (trigger.kind === 'bcast') server.broadcast(payload);
      else server.to(ROOM).send(payload);
    }
    return undefined;
  });
});

const url = await server.listen({ port: 0, host: HOST });
reportReady(Number(new URL(url).port));
