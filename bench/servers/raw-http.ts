/** Raw node:http with a trivial handler: the limit for HTTP. A POST's body is echoed back. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOST, reportReady } from './behaviour.js';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  });
});
server.listen(0, HOST, () => reportReady((server.address() as AddressInfo).port));
