/**
 * A minimal hixie-75 websocket client (the draft Socket.IO 0.6.18's server speaks): an
 * `Upgrade: WebSocket` request without keys, then frames `0x00 <UTF-8> 0xFF` both ways.
 */
import { connect, type Socket } from 'node:net';

export class HixieSocket {
  private buffer: Buffer = Buffer.alloc(0);
  private isOpen = false;

  private constructor(
    private readonly socket: Socket,
    private readonly onText: (text: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static open(port: number, path: string, onText: (text: string) => void): Promise<HixieSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const client = new HixieSocket(socket, onText);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: WebSocket\r\n` +
            `Connection: Upgrade\r\nOrigin: http://127.0.0.1:${port}\r\n\r\n`,
        );
      });
      client.onOpen = () => resolve(client);
      socket.once('close', () => {
        if (!client.isOpen) reject(new Error('hixie handshake failed'));
      });
    });
  }

  private onOpen: () => void = () => undefined;

  send(text: string): void {
    const body = Buffer.from(text);
    const frame = Buffer.allocUnsafe(body.length + 2);
    frame[0] = 0x00;
    body.copy(frame, 1);
    frame[frame.length - 1] = 0xff;
    this.socket.write(frame);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.isOpen) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!this.buffer.subarray(0, 12).toString().includes(' 101')) {
        this.socket.destroy();
        return;
      }
      this.isOpen = true;
      this.buffer = this.buffer.subarray(end + 4);
      this.onOpen();
    }
    let start = 0;
    for (;;) {
      if (start >= this.buffer.length) break;
      const stop = this.buffer.indexOf(0xff, start);
      if (stop === -1) break;
      this.onText(this.buffer.toString('utf8', start + 1, stop));
      start = stop + 1;
    }
    this.buffer = this.buffer.subarray(start);
  }
}
