/**
 * The behaviour every bench server implements, and the small IPC contract each server
 * process keeps with the orchestrator (bench/run.ts).
 *
 * Messages a client sends (text):
 *   anything else     echoed to the sender, unchanged
 *   `!bcast K S`      the server sends K messages of S bytes to every connected client
 *   `!join`           the sender joins the one room; the server answers `!joined`
 *   `!room K S`       the server sends K messages of S bytes to every member of the room
 *
 * IPC (process.send): the server reports `{type:'ready', port}` once listening, `{type:'crashed',
 * message}` before it exits on an uncaught exception, and answers
 * `{type:'memory'}` with `{type:'memory', rss, heapUsed}` after two forced collections
 * (servers run with --expose-gc), so that every target is measured the same way.
 */
export type Trigger =
  { readonly kind: 'bcast' | 'room'; readonly count: number; readonly size: number } | { readonly kind: 'join' };

export const JOINED = '!joined';

/** The trigger in `text`, or null when the message is to be echoed. */
export function parseTrigger(text: string): Trigger | null {
  if (text.charCodeAt(0) !== 33 /* ! */) return null;
  if (text === '!join') return { kind: 'join' };
  const [word, count, size] = text.split(' ');
  if ((word === '!bcast' || word === '!room') && count !== undefined && size !== undefined) {
    return { kind: word === '!bcast' ? 'bcast' : 'room', count: Number(count), size: Number(size) };
  }
  return null;
}

const payloads = new Map<number, string>();

/** The S-byte payload of a fan-out (ASCII, so bytes = characters). */
export function payloadOf(size: number): string {
  let payload = payloads.get(size);
  if (payload === undefined) {
    payload = 'b'.repeat(size);
    payloads.set(size, payload);
  }
  return payload;
}

interface ServerMessage {
  readonly type: string;
}

/** Reports the port and answers memory requests from the orchestrator. */
export function reportReady(port: number): void {
  process.on('message', (message: ServerMessage) => {
    if (message.type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    // Let freed pages go back before RSS is read.
    setTimeout(() => {
      const usage = process.memoryUsage();
      process.send?.({ type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed });
    }, 200);
  });
  // A crash (scenario G: an accept failing with EMFILE at the descriptor limit, say) is
  // reported before the exit, so the report can say what stopped a level.
  process.on('uncaughtException', (error: NodeJS.ErrnoException) => {
    process.stderr.write(`${error.stack ?? String(error)}\n`);
    const message = `crashed: ${error.code !== undefined && !error.message.includes(error.code) ? `${error.code} ` : ''}${error.message}`;
    setTimeout(() => process.exit(1), 1000).unref();
    if (process.connected) process.send?.({ type: 'crashed', message }, () => process.exit(1));
    else process.exit(1);
  });
  // The orchestrator going away ends the server too.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port });
}

/** Port 0 on loopback, as every server listens. */
export const HOST = '127.0.0.1';
