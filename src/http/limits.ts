/**
 * Limits of the HTTP server itself (header size, request and idle timeouts), which only a
 * standalone server (`createServer`) owns; a server mounted as a plugin lives with the
 * application's own fastify settings. Requests that break them never reach a route: Node's
 * parser refuses them, and `answerClientError` turns that refusal into the same
 * `{code, message}` JSON every other refusal has.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { RealtimeError } from '../errors.js';

export interface HttpLimitOptions {
  /** Largest request head (request line + headers), in bytes. Default 16 KiB; over it → 431. */
  maxHeaderBytes?: number;
  /** How long a client may take to send its request head. Default 10 000 ms; then → 408. */
  headersTimeoutMs?: number;
  /** How long a client may take to send a whole request (head and body). Default 30 000 ms; then → 408. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open between requests. Default 72 000 ms. */
  keepAliveTimeoutMs?: number;
  /** Idle timeout of any HTTP socket; 0 (default) = none. Keep it above `pollDurationMs`. */
  connectionTimeoutMs?: number;
}

export const HTTP_LIMIT_DEFAULTS = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  connectionTimeoutMs: 0,
} as const satisfies Required<HttpLimitOptions>;

/** Node checks header and request deadlines on an interval; never later than a quarter past one. */
const MAX_CHECK_INTERVAL_MS = 30_000;
const MIN_CHECK_INTERVAL_MS = 50;

function invalid(message: string): never {
  throw new RealtimeError('ERR_INVALID_OPTION', message);
}

/** The fastify server options that enforce these limits. Throws ERR_INVALID_OPTION on bad values. */
export function fastifyHttpOptions(options: HttpLimitOptions = {}): FastifyServerOptions {
  const limits = { ...HTTP_LIMIT_DEFAULTS };
  for (const key of Object.keys(HTTP_LIMIT_DEFAULTS) as (keyof HttpLimitOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) invalid(`${key} must be a finite number ≥ 0, got ${value}`);
    limits[key] = value as never;
  }
  if (limits.maxHeaderBytes < 1024) invalid('maxHeaderBytes must be at least 1024');
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) {
    invalid('headersTimeoutMs must not exceed requestTimeoutMs');
  }
  const shortest = Math.min(...[limits.headersTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0));
  const checkInterval = Number.isFinite(shortest)
    ? Math.min(MAX_CHECK_INTERVAL_MS, Math.max(MIN_CHECK_INTERVAL_MS, Math.floor(shortest / 4)))
    : MAX_CHECK_INTERVAL_MS;
  return {
    // fastify treats 0 as "use my default"; a tiny positive value is not what 0 means here.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs || 1,
    connectionTimeout: limits.connectionTimeoutMs,
    http: {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: checkInterval,
    },
    clientErrorHandler: answerClientError,
    // fastify's own refusals before routing (a malformed URL): the same JSON shape as ours.
    frameworkErrors: (
      _error: Error,
      _request: unknown,
      reply: { code(status: number): { send(body: unknown): void } },
    ) => {
      reply.code(400).send(new RealtimeError('ERR_BAD_REQUEST', 'the URL is not well-formed').toJSON());
    },
  } as FastifyServerOptions;
}

/** The RealtimeError for a request Node's HTTP parser refused. */
function clientErrorOf(error: NodeJS.ErrnoException): RealtimeError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new RealtimeError('ERR_HEADERS_TOO_LARGE', 'the request head exceeds maxHeaderBytes');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RealtimeError('ERR_REQUEST_TIMEOUT', 'the request did not arrive in time');
    default:
      return new RealtimeError('ERR_BAD_REQUEST', 'the request is not well-formed HTTP/1.1');
  }
}

/** `clientError` of the HTTP server: a JSON answer, then the socket is closed. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Once an answer has begun on this socket, a second one would be garbage: just close it
  // (Node's own default handler checks the same private field).
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const refusal = clientErrorOf(error);
  const body = JSON.stringify(refusal.toJSON());
  socket.end(
    `HTTP/1.1 ${refusal.httpStatus} ${STATUS_CODES[refusal.httpStatus] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * A standalone server owns every path: answer unknown paths and fastify's own refusals
 * (a malformed URL, say) with `{code, message}` too.
 */
export function installJsonFallbacks(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(new RealtimeError('ERR_NOT_FOUND', 'nothing is served at this path').toJSON());
  });
  app.setErrorHandler((error: { statusCode?: number; message?: string }, _request, reply) => {
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 404 ? 'ERR_NOT_FOUND' : status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_HANDLER_FAILED';
    const message = status < 500 ? String(error.message ?? 'bad request') : 'internal error';
    void reply.code(status).send(new RealtimeError(code, message, { httpStatus: status }).toJSON());
  });
}
