/** engine.io 6 with its defaults; fan-out is a send per recipient (engine.io has no broadcast). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attach, type Socket } from 'engine.io';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const http = createServer();
const engine = attach(http, {});
const clients = new Set<Socket>();
const room = new Set<Socket>();

engine.on('connection', (socket: Socket) => {
  clients.add(socket);
  socket.on('message', (data: string | Buffer) => {
    const text = data.toString();
    const trigger = parseTrigger(text);
    if (trigger === null) return socket.send(data);
    if (trigger.kind === 'join') {
      room.add(socket);
      return socket.send(JOINED);
    }
    const recipients = trigger.kind === 'bcast' ? clients : room;
    const payload = payloadOf(trigger.size);
    for (let i = 0; i < trigger.count; i++) for (const client of recipients) client.send(payload);
  });
  socket.on('close', () => {
    clients.delete(socket);
    room.delete(socket);
  });
});
http.listen(0, HOST, () => reportReady((http.address() as AddressInfo).port));
