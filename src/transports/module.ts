/**
 * What a transport module is: the interfaces the 0.6 resource (resource.ts) calls and every
 * transport file implements. The name → module table is index.ts.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SessionWebSocket } from './session-websocket.js';
import type { LegacyRoute } from '../http/router.js';
import type { SessionPort } from '../session/transport.js';
import type { RealtimeError } from '../errors.js';
import type { TransportName } from '../session/transport.js';
import type { AuthorizeHook } from '../http/admission.js';
import type { TimerList } from '../hub/timer-lists.js';
import type { AnswerHeaders } from './answer-headers.js';

/** The server options the 0.6 resource and its transports read. */
export interface ResourceOptions {
  readonly transports: readonly TransportName[];
  readonly authorize: AuthorizeHook | undefined;
  readonly serveClient: boolean;
  readonly sessionCookie: string | false;
  readonly lostPollGapMs: number;
  readonly maxPayloadBytes: number;
  readonly wsHighWaterMarkBytes: number;
  readonly pollDurationMs: number;
  readonly hixieHandshakeTimeoutMs: number;
}

/**
 * The session cookie for one request's answers: the `Set-Cookie` values an answer whose last
 * message frame is `lastSeq` carries (none when nothing changed), null when cookies are off.
 */
export type CookieIssuer = (lastSeq: number) => string[] | undefined;

/** A held poll as its deadline list sees it: `expire` answers it empty. */
export interface PollDeadline {
  expire(): void;
}

/** What an HTTP transport gets for one GET. */
export interface HttpTransportRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: Extract<LegacyRoute, { kind: 'transport' }>;
  readonly conn: SessionPort;
  /** CORS headers for the request's Origin (empty without one). */
  readonly cors: OutgoingHttpHeaders;
  /** The same, made into the everyday answers' headers once per Origin. */
  readonly answer: AnswerHeaders;
  /** The resource's list of held polls' deadlines (`pollDurationMs`). */
  readonly pollDeadlines: TimerList<PollDeadline>;
  /** The session cookie of this request's answers. */
  readonly cookie: CookieIssuer | null;
  readonly options: ResourceOptions;
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
  accept(ws: SessionWebSocket, socket: Duplex, conn: SessionPort, highWaterMarkBytes: number): void;
}

export type TransportModule = HttpTransportModule | UpgradeTransportModule;
