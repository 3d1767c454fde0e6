import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/**
 * A real node:http ServerResponse writing into memory instead of a network socket, for unit
 * tests of the polling transports under fake timers. `raw` is the HTTP text written so far;
 * `abort()` plays a client that went away.
 */
export class MemoryResponse {
  raw = '';
  readonly res: ServerResponse;
  private readonly sink: Duplex;

  constructor() {
    this.res = new ServerResponse(new IncomingMessage(new Socket()));
    this.sink = new Duplex({
      write: (chunk: Buffer, _encoding, callback) => {
        this.raw += chunk.toString('utf8');
        callback();
      },
      read: () => undefined,
    });
    this.res.assignSocket(this.sink as unknown as Socket);
  }

  /** The body of the answer, once it has ended. */
  get body(): string | undefined {
    const split = this.raw.indexOf('\r\n\r\n');
    return this.res.writableEnded && split !== -1 ? this.raw.slice(split + 4) : undefined;
  }

  get status(): number | undefined {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(this.raw);
    return match === null ? undefined : Number(match[1]);
  }

  abort(): void {
    this.sink.destroy();
  }
}
