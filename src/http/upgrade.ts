/**
 * The one websocket handshake validation of every family (the 0.6 resource, sac-sock, plain
 * endpoints: `checkHandshake` with each family's `HandshakeRules`, the drafts'
 * `validateDraftUpgrade`, `offeredSubprotocols`), and the answers to upgrade requests that
 * will not become websockets, written straight to the socket (there is no ServerResponse
 * before an upgrade).
 */
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { RealtimeError } from '../errors.js';

export function rejectUpgrade(socket: Duplex, error: RealtimeError, headers: OutgoingHttpHeaders = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(error.toJSON());
  const lines = [
    `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${String(value)}`),
  ];
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
}

/** A refused handshake: the error and the headers its answer carries besides the JSON body. */
export interface HandshakeRefusal {
  readonly error: RealtimeError;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * How strictly one family reads an RFC 6455 handshake. Every family runs the same checks in
 * the same order (`checkHandshake`); they differ only in what they accept and how precisely
 * a refusal is answered.
 */
export interface HandshakeRules {
  /** The `Sec-WebSocket-Version` values spoken. */
  readonly versions: readonly string[];
  /** Also require the `upgrade` token in `Connection` (RFC 6455 §4.2.1 item 4); `ws` does not. */
  readonly requireConnectionUpgrade: boolean;
  /**
   * Answer precisely: 405 with `Allow: GET`, and another version with 426 and the versions
   * spoken in `Sec-WebSocket-Version` (RFC 6455 §4.4) instead of a plain 400.
   */
  readonly isPrecise: boolean;
}

/** What `ws` itself accepts: versions 13 and 8, no `Connection` check (the 0.6 resource, sac-sock). */
export const WS_HANDSHAKE: HandshakeRules = Object.freeze({
  versions: Object.freeze(['13', '8']),
  requireConnectionUpgrade: false,
  isPrecise: false,
});

/** RFC 6455 to the letter: version 13 only, `Connection: upgrade`, precise answers (plain endpoints). */
export const RFC6455_HANDSHAKE: HandshakeRules = Object.freeze({
  versions: Object.freeze(['13']),
  requireConnectionUpgrade: true,
  isPrecise: true,
});

/** RFC 6455 §4.2.1: a 16-byte nonce in base64. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

function refused(error: RealtimeError, headers?: Record<string, string>): HandshakeRefusal {
  return headers === undefined ? { error } : { error, headers };
}

/** A websocket handshake is a GET (405 otherwise; with `Allow: GET` when precise). */
function checkMethod(req: IncomingMessage, isPrecise: boolean): HandshakeRefusal | null {
  if (req.method === 'GET') return null;
  const error = new RealtimeError('ERR_METHOD_NOT_ALLOWED', 'a websocket handshake is a GET');
  return refused(error, isPrecise ? { Allow: 'GET' } : undefined);
}

/** It asks for the websocket upgrade. */
function checkUpgradeHeader(req: IncomingMessage): HandshakeRefusal | null {
  if ((req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket') return null;
  return refused(new RealtimeError('ERR_BAD_REQUEST', 'missing upgrade header (Upgrade: websocket)'));
}

/**
 * The RFC 6455 handshake checks, in this order: method, server shutting down, `Upgrade`,
 * `Connection` (when the rules ask), `Sec-WebSocket-Version`, `Sec-WebSocket-Key`. Done
 * before `ws` sees the request, so a refusal gets the same JSON answer as every other (ws
 * would answer in plain text). Null when the upgrade may go on.
 */
export function checkHandshake(
  req: IncomingMessage,
  rules: HandshakeRules,
  isShuttingDown = false,
): HandshakeRefusal | null {
  const wrongMethod = checkMethod(req, rules.isPrecise);
  if (wrongMethod !== null) return wrongMethod;
  if (isShuttingDown) return refused(new RealtimeError('ERR_SHUTTING_DOWN', 'the server is shutting down'));
  const noUpgrade = checkUpgradeHeader(req);
  if (noUpgrade !== null) return noUpgrade;
  if (rules.requireConnectionUpgrade && !hasToken(req.headers.connection, 'upgrade')) {
    return refused(new RealtimeError('ERR_BAD_REQUEST', 'missing connection header (Connection: Upgrade)'));
  }
  const version = req.headers['sec-websocket-version'] ?? '';
  if (!rules.versions.includes(version)) return versionRefusal(rules);
  if (!WEBSOCKET_KEY.test(req.headers['sec-websocket-key'] ?? '')) {
    return refused(new RealtimeError('ERR_BAD_REQUEST', 'missing or malformed Sec-WebSocket-Key'));
  }
  return null;
}

function versionRefusal(rules: HandshakeRules): HandshakeRefusal {
  const spoken = rules.versions.join(', ');
  if (!rules.isPrecise) {
    return refused(new RealtimeError('ERR_BAD_REQUEST', `unsupported Sec-WebSocket-Version (${spoken})`));
  }
  return refused(new RealtimeError('ERR_UNSUPPORTED_VERSION', `unknown version: only ${spoken} is supported`), {
    'Sec-WebSocket-Version': spoken,
  });
}

/** Whether a comma-separated header (`Connection`) holds `token`, case-insensitively. */
function hasToken(header: string | undefined, token: string): boolean {
  return (header ?? '').split(',').some((part) => part.trim().toLowerCase() === token);
}

/**
 * What every websocket handshake needs, the drafts (hixie-75/76 carry no key and no version)
 * included: a GET asking for the websocket upgrade. The refusal's error, or null.
 */
export function validateDraftUpgrade(req: IncomingMessage): RealtimeError | null {
  return (checkMethod(req, false) ?? checkUpgradeHeader(req))?.error ?? null;
}

/** `checkHandshake` with the rules of `ws` itself (`WS_HANDSHAKE`): the refusal's error, or null. */
export function validateUpgrade(req: IncomingMessage): RealtimeError | null {
  return checkHandshake(req, WS_HANDSHAKE)?.error ?? null;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The subprotocols a client offers (RFC 6455 §4.1, §11.3.4): every `Sec-WebSocket-Protocol`
 * value joined, split on commas, trimmed, empties removed (seehuhn's parsing). A name that
 * is not a token, or one offered twice, is a malformed header (400).
 */
export function offeredSubprotocols(req: IncomingMessage): string[] | RealtimeError {
  const raw = req.headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  const offered = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (offered.some((name) => !TOKEN.test(name)) || new Set(offered).size !== offered.length) {
    return new RealtimeError('ERR_BAD_REQUEST', 'malformed Sec-WebSocket-Protocol header');
  }
  return offered;
}

/**
 * The 'error' listener of a socket being upgraded (module-level: no closure per
 * connection). Once ws has taken the socket, ws's own listener is enough; removing this one
 * spares each idle websocket a listener array.
 */
export function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** ws has taken `socket` over, its errors included. */
export function handOverErrors(socket: Duplex): void {
  socket.removeListener('error', destroyOnError);
}
