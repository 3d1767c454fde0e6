/**
 * Switchyard's sac-sock endpoint (`/socket`, subprotocol `sac-sock`) with its defaults. The
 * bench messages travel as the event `message` (`message\x02TEXT` in, `message\x01S\x02TEXT`
 * out); fan-out goes through the server's room API, as a sacrificial-socket application
 * would do it (`Broadcast`, `Roomcast`).
 *
 * Like bench/servers/switchyard.ts it runs the compiled build (dist/); the types come from
 * the sources.
 */
import type * as Sources from '../../src/index.js';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const build = new URL('../../dist/index.js', import.meta.url).href;
const { createServer } = (await import(build)) as typeof Sources;

const EVENT = 'message';
const ROOM = 'bench';

// Every load client comes from 127.0.0.1: the per-address cap (1000 by default) is lifted here.
const server = createServer({ maxConnectionsPerAddress: 0 });

server.onEvent(EVENT, (socket, data) => {
  const text = data.toString();
  const trigger = parseTrigger(text);
  if (trigger === null) return void socket.emit(EVENT, text);
  if (trigger.kind === 'join') {
    socket.join(ROOM);
    return void socket.emit(EVENT, JOINED);
  }
  const payload = payloadOf(trigger.size);
  for (let i = 0; i < trigger.count; i++) {
    if (trigger.kind === 'bcast') server.broadcastEvent(EVENT, payload);
    else server.to(ROOM).emit(EVENT, payload);
  }
});

const url = await server.listen({ port: 0, host: HOST });
reportReady(Number(new URL(url).port));
