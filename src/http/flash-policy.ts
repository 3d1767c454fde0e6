/**
 * The Flash socket policy (docs/protocol/socketio-0.6.md §5). Before web-socket-js opens a socket,
 * Flash connects to the policy port (843) — or, failing that, to the target port itself — and
 * writes the 23 bytes `<policy-file-request/>\0`. It expects an XML cross-domain policy back, then
 * the connection ends.
 *
 * Two places answer it:
 * - a separate TCP listener (`flashPolicyPort`, default 843; binding it usually needs
 *   privileges, and a failure is logged, not fatal);
 * - inline on the HTTP port. Node's HTTP server reads new sockets straight into its native
 *   parser, with no JavaScript 'data' event to peek at; adding one would move every
 *   connection off that fast path. A policy request cannot be HTTP — `<` is not a method
 *   character — so the parser refuses its first byte and reports a 'clientError' carrying
 *   the raw bytes. Answering there costs ordinary HTTP nothing.
 */
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { OriginRule } from './origins.js';

export const POLICY_REQUEST = '<policy-file-request/>\0';

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function xmlAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => XML_ESCAPES[char] ?? char);
}

/**
 * The policy for an `origins` list: one `allow-access-from` per rule, as 0.6.18 wrote it,
 * ended by a NUL as Flash's XMLSocket convention has it.
 */
export function flashPolicy(rules: readonly OriginRule[]): string {
  const allows = rules
    .map((rule) => `<allow-access-from domain="${xmlAttribute(rule.host)}" to-ports="${xmlAttribute(rule.port)}"/>\n`)
    .join('');
  return (
    '<?xml version="1.0"?>\n' +
    '<!DOCTYPE cross-domain-policy SYSTEM "http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd">\n' +
    '<cross-domain-policy>\n' +
    allows +
    '</cross-domain-policy>\n\0'
  );
}

/** Whether bytes (all of them, or the start of them) are a policy request. */
export function isPolicyRequest(bytes: Buffer): boolean {
  if (bytes.length === 0 || bytes[0] !== 0x3c) return false;
  const text = bytes.toString('latin1');
  return text.startsWith(POLICY_REQUEST.slice(0, -1)) || POLICY_REQUEST.startsWith(text);
}

/**
 * A `clientError` listener for the HTTP server: answers a policy request and says so
 * (true); anything else is left to the server's own handler (false).
 */
function answerInlinePolicy(error: Error & { rawPacket?: Buffer }, socket: Duplex, policy: string): boolean {
  const raw = error.rawPacket;
  if (raw === undefined || !isPolicyRequest(raw) || !socket.writable) return false;
  // end() makes the socket unwritable, so fastify's (and Node's) handler adds no 400.
  socket.end(policy);
  return true;
}

/** How long a policy-port connection may take to send its request. */
const POLICY_REQUEST_TIMEOUT_MS = 5_000;

/** The separate policy listener: answers a policy request, and closes anything else. */
function createPolicyServer(policy: string): TcpServer {
  return createTcpServer((socket: Socket) => {
    let received = Buffer.alloc(0);
    socket.setTimeout(POLICY_REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]).subarray(0, POLICY_REQUEST.length);
      if (!isPolicyRequest(received)) socket.destroy();
      else if (received.length >= POLICY_REQUEST.length - 1) socket.end(policy);
    });
  });
}

/** Where problems binding the policy port are reported. */
export interface PolicyLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** The policy answering of one server instance: inline, and on its own port if asked. */
export class FlashPolicyService {
  private readonly policy: string;
  private listener: TcpServer | null = null;
  private httpServer: HttpServer | null = null;
  private isClosed = false;

  constructor(
    rules: readonly OriginRule[],
    private readonly port: number | false,
    private readonly log: () => PolicyLog | undefined,
  ) {
    this.policy = flashPolicy(rules);
  }

  /** The policy listener's port once it listens, else undefined. */
  get listeningPort(): number | undefined {
    const address = this.listener?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  /** Answers inline on `httpServer` and, once it listens, opens the policy port. */
  install(httpServer: HttpServer): void {
    this.httpServer = httpServer;
    // Prepended: the policy must be written before any 400 the server's own handler sends.
    httpServer.prependListener('clientError', this.onClientError);
    if (httpServer.listening) this.listen(httpServer);
    else httpServer.once('listening', () => this.listen(httpServer));
  }

  async close(): Promise<void> {
    this.isClosed = true;
    this.httpServer?.off('clientError', this.onClientError);
    const listener = this.listener;
    this.listener = null;
    if (listener === null) return;
    // A bind still under way would otherwise complete after close and hold the port.
    if (!listener.listening) {
      await new Promise<void>((resolve) => {
        listener.once('listening', resolve);
        listener.once('error', () => resolve());
      });
    }
    if (listener.listening) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  private readonly onClientError = (error: Error, socket: Duplex): void => {
    answerInlinePolicy(error, socket, this.policy);
  };

  private listen(httpServer: HttpServer): void {
    // Closed before the HTTP server came to listen: no port to open any more.
    if (this.port === false || this.listener !== null || this.isClosed) return;
    const address = httpServer.address();
    const host = typeof address === 'object' && address !== null ? address.address : undefined;
    const listener = createPolicyServer(this.policy);
    this.listener = listener;
    // `on`, not `once`: a listening server reports accept failures (EMFILE) as 'error' too,
    // and an unheard one would crash the process. Only a failed bind gives the port up.
    listener.on('error', (error: NodeJS.ErrnoException) => {
      if (listener.listening) {
        this.log()?.warn({ port: this.listeningPort, code: error.code }, 'flash policy listener error');
        return;
      }
      if (this.listener === listener) this.listener = null;
      this.log()?.warn(
        { port: this.port, code: error.code },
        `flash policy port ${this.port} could not be opened (${error.code ?? error.message}); ` +
          'the policy is still answered inline on the HTTP port',
      );
    });
    listener.listen({ port: this.port, host }, () => {
      this.log()?.info({ port: this.listeningPort }, 'flash policy listening');
    });
  }
}
