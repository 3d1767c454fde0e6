/** Raw `ws`: the physical limit for websocket. Echo, and a plain send per recipient. */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { HOST, JOINED, parseTrigger, payloadOf, reportReady } from './behaviour.js';

const wss = new WebSocketServer({ host: HOST, port: 0 });
const room = new Set<WebSocket>();

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    const text = data.toString();
    const trigger = parseTrigger(text);
    if (trigger === null) return ws.send(text, { binary: isBinary });
    if (trigger.kind === 'join') {
      room.add(ws);
      return ws.send(JOINED);
    }
    const recipients = trigger.kind === 'bcast' ? wss.clients : room;
    const payload = payloadOf(trigger.size);
    for (let i = 0; i < trigger.count; i++) for (const client of recipients) client.send(payload);
  });
  ws.on('close', () => room.delete(ws));
});
wss.on('listening', () => reportReady((wss.address() as AddressInfo).port));
