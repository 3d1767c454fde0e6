/** socket.io 4 with its defaults: `message` events, io.emit and a room for fan-out. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const http = createServer();
const io = new Server(http, { serveClient: false });

io.on('connection', (socket) => {
  socket.on('message', (data: unknown) => {
    const trigger = typeof data === 'string' ? parseTrigger(data) : null;
    if (trigger === null) return socket.send(data);
    if (trigger.kind === 'join') {
      void socket.join('room');
      return socket.send(JOINED);
    }
    const target = trigger.kind === 'bcast' ? io : io.to('room');
    const payload = payloadOf(trigger.size);
    for (let i = 0; i < trigger.count; i++) target.emit('message', payload);
  });
});
http.listen(0, HOST, () => reportReady((http.address() as AddressInfo).port));
