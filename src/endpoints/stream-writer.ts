/**
 * The `Writable` of `sendMessage` (seehuhn's `SendMessage`): each chunk written becomes one
 * frame of one message, `end()` its final frame, through a stream job of the outbox that
 * holds the head of the queue until it ends, so nothing is interleaved inside it.
 */
import { Writable } from 'node:stream';
import type { Outbox } from './outbox.js';

/** What the stream needs from its connection. */
export interface StreamOwner {
  isOpen(): boolean;
  isClosed(): boolean;
  closedError(): Error;
  /** A stream destroyed after its first frame cannot be recalled: the connection must close. */
  abort(cause: Error | null): void;
}

export function streamWriter(outbox: Outbox, binary: boolean, owner: StreamOwner): Writable {
  const job = outbox.pushStream(binary);
  return new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      if (!owner.isOpen()) return callback(owner.closedError());
      job.chunks.push({ data: chunk, done: (error) => callback(error ?? null) });
      outbox.pump();
    },
    final: (callback) => {
      job.isEnded = true;
      job.onEnd = (error) => callback(error ?? null);
      outbox.pump();
    },
    destroy: (error, callback) => {
      if (!job.isEnded && job.isStarted && !owner.isClosed()) owner.abort(error);
      else if (!job.isEnded) outbox.discard(job);
      callback(error);
    },
  });
}
