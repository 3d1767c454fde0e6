/**
 * Switchyard's legacy resource (websocket and xhr-polling) with its defaults. Fan-out uses
 * the server's own broadcast; the room is an application Set fed one PreparedMessage, the
 * way an application without a rooms module would do it.
 *
 * It runs the compiled build (dist/, made by bench/run.ts before the first scenario), as an
 * application would deploy it: run from TypeScript sources, tsx's helpers would add work
 * to every function created on the hot path. The types still come from the sources.
 */
import type * as Sources from '../../src/index.js';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const build = new URL('../../dist/index.js', import.meta.url).href;
const { createServer, PreparedMessage } = (await import(build)) as typeof Sources;

// The metrics-on row (switchyard-metrics.ts) sets this: the same server, counting for /metrics.
// Every load client comes from 127.0.0.1: the per-address cap (1000 by default) is lifted here.
const server = createServer({
  metrics: process.env.BENCH_SWITCHYARD_METRICS === '1',
  maxConnectionsPerAddress: 0,
});
const room = new Set<Sources.Conn>();

server.onMessage((conn, data) => {
  const trigger = typeof data === 'string' ? parseTrigger(data) : null;
  if (trigger === null) return void conn.send(data);
  if (trigger.kind === 'join') {
    room.add(conn);
    return void conn.send(JOINED);
  }
  const payload = payloadOf(trigger.size);
  for (let i = 0; i < trigger.count; i++) {
    if (trigger.kind === 'bcast') {
      server.broadcast(payload);
      continue;
    }
    const message = new PreparedMessage(payload);
    for (const member of room) member.deliver(message);
  }
});
server.onDisconnect((conn) => room.delete(conn));

const url = await server.listen({ port: 0, host: HOST });
reportReady(Number(new URL(url).port));
