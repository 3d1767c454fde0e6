import { request } from 'node:http';
import { afterEach } from 'vitest';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { WebSocketConnection } from '../../src/endpoints/connection.js';
import type { WebSocketEndpointOptions } from '../../src/endpoints/options.js';
import type { CreateServerOptions, Switchyard } from '../../src/server.js';
import { startServer, type StartedServer } from './start-server.js';
import { waitFor } from './wait-for.js';

/** The answer to a raw upgrade request: status, headers and (for refusals) the body. */
export interface UpgradeAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Sends an upgrade request with exactly `headers` (plus Host) and reads the answer. */
export function rawUpgrade(url: string, headers: Record<string, string>, method = 'GET'): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Headers of a valid version-13 handshake. */
export function handshakeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...extra,
  };
}

/** A ws client that records messages (as strings or Buffers) and its close status. */
export class PlainClient {
  readonly received: Array<{ data: Buffer; isBinary: boolean }> = [];
  closeCode: number | undefined;
  closeReason = '';
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary) => this.received.push({ data: data as Buffer, isBinary }));
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string, protocols?: string | string[], options?: ClientOptions): Promise<PlainClient> {
    const client = new PlainClient(new WebSocket(url, protocols, options));
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve());
      client.ws.once('error', reject);
      client.ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    return client;
  }

  texts(): string[] {
    return this.received.map((m) => m.data.toString('utf8'));
  }

  async waitForMessages(count: number, timeoutMs = 5_000): Promise<void> {
    await waitFor(() => this.received.length >= count, { timeoutMs, what: `${count} messages` });
  }

  async waitForClose(timeoutMs = 5_000): Promise<number> {
    await waitFor(() => this.closeCode !== undefined, { timeoutMs, what: 'the close' });
    return this.closeCode as number;
  }
}

/** A server with one plain endpoint at `/ws`; `conns` collects the server-side connections. */
export async function startEndpoint<T = unknown>(
  options: WebSocketEndpointOptions<T>,
  handler: (conn: WebSocketConnection<T>) => void | Promise<void> = () => undefined,
  setup?: (server: Switchyard) => void,
  serverOptions: CreateServerOptions = {},
): Promise<StartedEndpoint<T>> {
  const conns: Array<WebSocketConnection<T>> = [];
  const started = await startServer(serverOptions, (server) => {
    server.websocket<T>('/ws', options, (conn) => {
      conns.push(conn);
      return handler(conn);
    });
    setup?.(server);
  });
  return { ...started, conns, url: `${started.wsUrl}/ws` };
}

/** A server started by `startEndpoint`. */
export type StartedEndpoint<T = unknown> = StartedServer & { conns: Array<WebSocketConnection<T>>; url: string };

/** Connects one more client to `started` and waits for its server-side connection. */
export async function connectPair<T>(
  started: StartedEndpoint<T>,
  clientOptions?: ClientOptions,
): Promise<{ client: PlainClient; conn: WebSocketConnection<T> }> {
  const index = started.conns.length;
  const client = await PlainClient.connect(started.url, undefined, clientOptions);
  await waitFor(() => started.conns.length > index, { what: 'the server-side connection' });
  return { client, conn: started.conns[index] as WebSocketConnection<T> };
}

/**
 * One endpoint server per test, closed after it: `pair(options)` starts it on first use and
 * connects one more client; a test may also set `endpoint.started` itself.
 */
export function endpointPerTest(): {
  started: StartedEndpoint | undefined;
  pair(options?: WebSocketEndpointOptions<unknown>): ReturnType<typeof connectPair<unknown>>;
} {
  const endpoint = {
    started: undefined as StartedEndpoint | undefined,
    async pair(options: WebSocketEndpointOptions<unknown> = {}) {
      endpoint.started ??= await startEndpoint(options);
      return connectPair(endpoint.started);
    },
  };
  afterEach(async () => {
    await endpoint.started?.close();
    endpoint.started = undefined;
  });
  return endpoint;
}

/** Polls that `predicate` keeps holding for `ms` (for asserting that something does NOT happen). */
export async function holdsFor(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!predicate()) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return predicate();
}
