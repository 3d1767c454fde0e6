/**
 * Raw HTTP/1.1 over a TCP socket, for requests no well-behaved client would send: any bytes
 * as method, path, headers and body. Reads exactly one answer (by Content-Length, or until
 * the server closes), then destroys the socket.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** 0 when the server closed without an answer. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** ms from the first byte sent to the answer (or the close). */
  readonly elapsedMs: number;
}

export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers };
}

/** htmlfile (chunked HTML) and xhr-multipart answers: bodies that end only with their session. */
function isStream(headers: Record<string, string>): boolean {
  const type = headers['content-type'] ?? '';
  return (
    type.startsWith('multipart/x-mixed-replace') ||
    (type.startsWith('text/html') && headers['transfer-encoding'] === 'chunked')
  );
}

/** Sends `request` and resolves with the answer, or rejects after `timeoutMs`. */
export async function rawRequest(port: number, request: Buffer, timeoutMs: number): Promise<RawAnswer> {
  const socket = await rawConnect(port);
  const started = Date.now();
  const isHead = request.subarray(0, 5).toString('latin1') === 'HEAD ';
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let parsed: { status: number; headers: Record<string, string>; bodyStart: number } | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(request.subarray(0, 120).toString('latin1'))}`),
      );
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const declared = Number(parsed?.headers['content-length']);
      const end = parsed !== null && Number.isFinite(declared) ? parsed.bodyStart + declared : undefined;
      const body = parsed === null ? Buffer.alloc(0) : buffered.subarray(parsed.bodyStart, end);
      resolve({ status: parsed?.status ?? 0, headers: parsed?.headers ?? {}, body, elapsedMs: Date.now() - started });
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (parsed === null) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        parsed = { ...parseHead(buffered.subarray(0, end).toString('latin1')), bodyStart: end + 4 };
        if (parsed.status === 100) {
          // An interim answer to `Expect: 100-continue`: the real one follows (maybe in this chunk).
          const rest = buffered.subarray(end + 4);
          buffered = Buffer.alloc(0);
          parsed = null;
          onData(rest);
          return;
        }
        // A HEAD answer and a 101 have no body whatever Content-Length says; a stream that
        // lives as long as its session (htmlfile, xhr-multipart) is answered once its head is in.
        if (parsed.status === 101 || isHead || isStream(parsed.headers)) return done();
      }
      const length = Number(parsed.headers['content-length']);
      if (Number.isFinite(length) && buffered.length - parsed.bodyStart >= length) done();
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.on('close', done);
    socket.write(request);
  });
}
