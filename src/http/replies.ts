/**
 * Small helpers shared by the HTTP transports and the legacy router: JSON error answers,
 * CORS headers, a body reader that enforces its byte cap while the body streams, and the
 * form decoding of a send (`data=<encodeURIComponent(payload)>`).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { RealtimeError } from '../errors.js';

/** Headers every answer of the legacy resource carries. */
export const BASE_HEADERS: OutgoingHttpHeaders = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
});

/** Answers with `{code, message}` and the error's status, unless the answer has begun. */
export function sendError(res: ServerResponse, error: RealtimeError, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(error.toJSON());
  res.writeHead(error.httpStatus, {
    ...BASE_HEADERS,
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * CORS headers for an allowed Origin: the origin itself is reflected (never `*`).
 * Credentials (`Access-Control-Allow-Credentials`) only when `withCredentials`: for an origin
 * an explicit allow-list names, never for `*:*`, so no page of any site can read a
 * cookie-authorized session. The 0.6 client's XHR sends no credentials and works either way.
 */
export function corsHeaders(origin: string | undefined, withCredentials: boolean): OutgoingHttpHeaders {
  if (origin === undefined) return {};
  if (!withCredentials) return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
    Vary: 'Origin',
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a request body of at most `maxBytes`. A declared Content-Length over the cap is
 * refused before reading; a streamed body is cut off as soon as it crosses the cap.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string | RealtimeError> {
  const tooLarge = () => new RealtimeError('ERR_TOO_LARGE', `the body exceeds ${maxBytes} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve(tooLarge());
  }
  // The body has usually arrived by the time a handler that awaited anything reads it (a
  // small POST comes in the same packet as its headers): once every byte Content-Length
  // declares is in the stream's buffer, take it from there, with no listeners and no
  // promise of its own.
  if (declared === req.readableLength && !req.readableFlowing) {
    const body = (req.read() as Buffer | null) ?? EMPTY_BODY;
    // Flowing from here, so the end of the request is read and 'end' comes: until it does,
    // Node counts the request as unfinished (its request timeout, the keep-alive socket).
    req.resume();
    return Promise.resolve(decodeBody(body));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.resume();
        resolve(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(decodeBody(Buffer.concat(chunks, size)));
    };
    const onError = (error: Error) => {
      cleanup();
      resolve(new RealtimeError('ERR_BAD_REQUEST', `the body could not be read: ${error.message}`));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onAborted = () => onError(new Error('aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

const EMPTY_BODY = Buffer.alloc(0);

function decodeBody(body: Buffer): string | RealtimeError {
  try {
    return utf8.decode(body);
  } catch {
    return new RealtimeError('ERR_INVALID_UTF8', 'the body is not valid UTF-8');
  }
}

/**
 * The `data` field of an `application/x-www-form-urlencoded` body: `+` is a space, then
 * percent-decoding as UTF-8. Missing field or broken escapes are errors, never guesses.
 */
export function formField(body: string, name: string): string | RealtimeError {
  // The 0.6 client's send is the one field alone: no split, no array.
  if (body.length > name.length && body.charCodeAt(name.length) === EQUALS && body.startsWith(name)) {
    const end = body.indexOf('&');
    if (end === -1) return formValue(body.slice(name.length + 1), name);
  }
  for (const pair of body.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key !== name) continue;
    return formValue(eq === -1 ? '' : pair.slice(eq + 1), name);
  }
  return new RealtimeError('ERR_BAD_REQUEST', `the body has no "${name}" field`);
}

const EQUALS = 0x3d;

/** One form value decoded: a value with neither `+` nor `%` is already what it says. */
function formValue(raw: string, name: string): string | RealtimeError {
  const hasPlus = raw.includes('+');
  if (!hasPlus && !raw.includes('%')) return raw;
  try {
    return decodeURIComponent(hasPlus ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return new RealtimeError('ERR_INVALID_UTF8', `the "${name}" field has broken percent-escapes or invalid UTF-8`);
  }
}
