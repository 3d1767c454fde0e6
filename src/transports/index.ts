/**
 * The one table from transport name to implementation. The legacy router asks it which
 * module answers a request; each module holds only its own framing.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SessionWebSocket } from './websocket.js';
import type { LegacyRoute } from '../router.js';
import type { ResolvedOptions } from '../options.js';
import type { Conn } from '../session/conn.js';
import type { RealtimeError } from '../errors.js';
import type { TransportName } from './types.js';
import { flashsocket } from './flashsocket.js';
import { htmlfile } from './htmlfile.js';
import { jsonpPolling } from './jsonp-polling.js';
import { websocket } from './websocket.js';
import { xhrMultipart } from './xhr-multipart.js';
import { xhrPolling } from './xhr-polling.js';

export type { Transport, TransportName, WriteResult } from './types.js';

/** What an HTTP transport gets for one GET. */
export interface HttpTransportRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Extract<LegacyRoute, { kind: 'transport' }>;
  readonly conn: Conn;
  /** CORS headers for the request's Origin (empty without one). */
  readonly cors: OutgoingHttpHeaders;
  readonly options: ResolvedOptions;
}

export interface HttpTransportModule {
  readonly name: TransportName;
  readonly kind: 'http';
  /** Checks a GET before any session is made (the JSONP index, say). */
  validate?(route: Extract<LegacyRoute, { kind: 'transport' }>): RealtimeError | null;
  /** Answers a GET: makes this request's transport and attaches it. */
  attach(request: HttpTransportRequest): void;
  /** What a send's `data` field becomes before decoding. */
  normalizeSend?(payload: string): string;
}

export interface UpgradeTransportModule {
  readonly name: TransportName;
  readonly kind: 'upgrade';
  /** Wraps an accepted websocket and attaches it. */
  accept(ws: SessionWebSocket, socket: Duplex, conn: Conn, highWaterMarkBytes: number): void;
}

export type TransportModule = HttpTransportModule | UpgradeTransportModule;

export const TRANSPORT_MODULES: Partial<Record<TransportName, TransportModule>> = {
  websocket,
  flashsocket,
  htmlfile,
  'xhr-multipart': xhrMultipart,
  'xhr-polling': xhrPolling,
  'jsonp-polling': jsonpPolling,
};
