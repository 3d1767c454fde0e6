/**
 * Fan-out over RFC 6455 without `ws.send` per recipient: the frame of a prepared message is
 * made once and its bytes written to every recipient's socket, and a socket's frames of one
 * tick leave in one `writev`. A broadcast of 100 messages to 1000 sockets otherwise costs
 * 100 000 framings and as many syscalls, which the profile showed as most of its time.
 *
 * Writing frames to the socket directly keeps the order of `ws`'s own writes only while its
 * Sender never holds a frame back, i.e. without permessage-deflate (`ws.extensions === ''`,
 * settled at the handshake). Callers check that.
 */
import type { Duplex } from 'node:stream';

/** An unmasked, unfragmented RFC 6455 data frame (RFC 6455 §5.2): what a server sends. */
export function dataFrame(payload: string | Buffer, isBinary = false): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = isBinary ? 0x82 : 0x81; // FIN, opcode 2 (binary) or 1 (text)
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  if (typeof payload === 'string') frame.write(payload, headerLength, 'utf8');
  else payload.copy(frame, headerLength);
  return frame;
}

/**
 * Holds one socket's writes of this tick and writes them together on the next. Only for
 * fan-out: for a single send (an echo), the extra tick costs more than it saves.
 */
export class TickCork {
  private isCorked = false;

  constructor(private readonly socket: Duplex) {}

  cork(): void {
    if (this.isCorked) return;
    this.isCorked = true;
    this.socket.cork();
    process.nextTick(uncork, this);
  }

  /** @internal tick callback */
  release(): void {
    this.isCorked = false;
    this.socket.uncork();
  }
}

// Module-level tick callback: no closure per write.
function uncork(cork: TickCork): void {
  cork.release();
}
