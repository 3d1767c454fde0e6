import { once } from 'node:events';
import { WebSocket, type ClientOptions } from 'ws';
import { encodeClientFrame } from '../../src/codecs/sac-sock.js';
import { waitFor } from './wait-for.js';

/** One frame as it arrived: its bytes and opcode. */
export interface RawFrame {
  readonly data: Buffer;
  readonly isBinary: boolean;
}

/**
 * A decoded server frame (docs/protocol/sac-sock.md §2.1): event, the type letters of its header,
 * payload bytes.
 */
export interface ServerFrame {
  readonly event: string;
  readonly type: string;
  readonly payload: Buffer;
  readonly isBinary: boolean;
}

/**
 * Splits a server frame as docs/protocol/sac-sock.md §2.1 builds it; throws on a frame that has no
 * header.
 */
export function splitServerFrame(frame: RawFrame): ServerFrame {
  const soh = frame.data.indexOf(0x01);
  const stx = frame.data.indexOf(0x02);
  if (soh <= 0 || stx < soh) throw new Error(`not a sac-sock server frame: ${frame.data.toString('hex')}`);
  return {
    event: frame.data.toString(frame.isBinary ? 'latin1' : 'utf8', 0, soh),
    type: frame.data.toString('latin1', soh + 1, stx),
    payload: frame.data.subarray(stx + 1),
    isBinary: frame.isBinary,
  };
}

/**
 * A raw `ws` client speaking sac-sock byte for byte, as written from docs/protocol/sac-sock.md §2:
 * it records every frame and close, and `emit` builds frames as the browser client does.
 */
export class SacSockTestClient {
  readonly frames: RawFrame[] = [];
  closeCode: number | undefined;
  closeReason = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.frames.push({ data, isBinary }));
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    ws.on('error', () => undefined);
  }

  static async connect(
    url: string,
    protocols: string | string[] = 'sac-sock',
    options: ClientOptions = {},
  ): Promise<SacSockTestClient> {
    const client = new SacSockTestClient(new WebSocket(url, protocols, options));
    await once(client.ws, 'open');
    return client;
  }

  emit(event: string, data: unknown): void {
    const frame = encodeClientFrame(event, data);
    this.sendRaw(frame.data, frame.isBinary);
  }

  sendRaw(data: Buffer | string, isBinary = false): void {
    this.ws.send(data, { binary: isBinary });
  }

  /** Takes the first frame of `event` (waiting for it), in arrival order. */
  async next(event?: string, timeoutMs = 5_000): Promise<ServerFrame> {
    let found: ServerFrame | undefined;
    await waitFor(
      () => {
        const index = this.frames.findIndex((frame) => event === undefined || splitServerFrame(frame).event === event);
        if (index === -1) return false;
        found = splitServerFrame(this.frames.splice(index, 1)[0] as RawFrame);
        return true;
      },
      { timeoutMs, what: `a frame${event === undefined ? '' : ` of event ${event}`}` },
    );
    return found as ServerFrame;
  }

  async closed(timeoutMs = 5_000): Promise<number> {
    await waitFor(() => this.closeCode !== undefined, { timeoutMs, what: 'the close' });
    return this.closeCode as number;
  }

  close(): void {
    this.ws.close(1000);
  }
}
