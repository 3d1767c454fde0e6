/** sockjs 0.3.24 with its defaults, prefix `/echo`; fan-out is a write per recipient. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sockjs from 'sockjs';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const http = createServer();
const service = sockjs.createServer({ prefix: '/echo', log: () => undefined });
const clients = new Set<sockjs.Connection>();
const room = new Set<sockjs.Connection>();

service.on('connection', (conn: sockjs.Connection) => {
  clients.add(conn);
  conn.on('data', (text: string) => {
    const trigger = parseTrigger(text);
    if (trigger === null) return conn.write(text);
    if (trigger.kind === 'join') {
      room.add(conn);
      return conn.write(JOINED);
    }
    const recipients = trigger.kind === 'bcast' ? clients : room;
    const payload = payloadOf(trigger.size);
    for (let i = 0; i < trigger.count; i++) for (const client of recipients) client.write(payload);
  });
  conn.on('close', () => {
    clients.delete(conn);
    room.delete(conn);
  });
});
service.installHandlers(http);
http.listen(0, HOST, () => reportReady((http.address() as AddressInfo).port));
