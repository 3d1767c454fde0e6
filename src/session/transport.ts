import type { Codec } from '../codecs/types.js';
import type { RealtimeError } from '../errors.js';
import type { PreparedMessage } from '../hub/prepared.js';
import type { DisconnectReason } from '../hub/results.js';

/** The wire names of the six Socket.IO 0.6 transports, in the client's preference order. */
export const TRANSPORT_NAMES = [
  'websocket',
  'flashsocket',
  'htmlfile',
  'xhr-multipart',
  'xhr-polling',
  'jsonp-polling',
] as const;

export type TransportName = (typeof TRANSPORT_NAMES)[number];

/**
 * 'written': handed to the socket; 'buffered': handed over, but the socket is backed up and
 * the session should hold further frames until `Conn.onDrain`; 'closed': not written at all.
 */
export type WriteResult = 'written' | 'buffered' | 'closed';

/**
 * One request or socket carrying a session's frames. A transport owns no session state and
 * no timer but its own poll deadline. It calls `conn.receive(payload)` for what arrives,
 * `conn.onDrain(this)` when it can take more, and `conn.detach(this)` when it ends.
 */
export interface Transport {
  readonly name: TransportName;
  /** false: one write ends the response (polling); the session waits for the next request. */
  readonly persistent: boolean;
  /**
   * true: after each 'written'/'buffered' write the transport calls `conn.settle(this, delivered)`
   * exactly once, in write order — delivered when the socket took the bytes (ws send callback,
   * response 'finish'), not delivered when it died first. The session then re-queues what was
   * not delivered. Transports without it count a write as delivered at once.
   */
  readonly confirmsDelivery?: boolean;
  /**
   * Writes one payload. `shared` is the fan-out message the payload encodes, when there is
   * one: a transport may cache its own wire form of the payload on it (`shared.encoded`),
   * so that every recipient of a broadcast reuses the same bytes. `lastSeq` is the sequence
   * number of the last message frame in the payload (0 when it carries none): a poll answer
   * hands it to the client in the session cookie, which acknowledges it with its next request.
   */
  write(payload: string, shared?: PreparedMessage, lastSeq?: number): WriteResult;
  /** Ends the request or socket. `code` is a websocket close code where one applies. */
  close(code?: number, reason?: string): void;
}

/**
 * What a transport sees of the session it carries: a Conn of this node, or (in a cluster) a
 * session another node owns, reached over the relay. A transport calls nothing else.
 */
export interface SessionPort {
  readonly sessionId: string;
  readonly codec: Codec;
  attach(transport: Transport): void;
  detach(transport: Transport, lost?: boolean): void;
  /** A payload from the client: null, or the error the transport answers it with (400, a close). */
  receive(payload: string): RealtimeError | null | Promise<RealtimeError | null>;
  settle(transport: Transport, delivered: boolean): void;
  onDrain(transport: Transport): void;
  close(reason?: DisconnectReason, error?: RealtimeError): void;
}

/**
 * A message that arrived on a socket (websocket, the drafts): handed to its session, and a
 * refusal — a payload that does not decode, a frame too large — ends the session as a
 * protocol error (the socket closes with the error's code). A closed session's refusal is moot.
 */
export function receiveOnSocket(conn: SessionPort, payload: string): void {
  const result = conn.receive(payload);
  if (result === null) return;
  if (result instanceof Promise) void result.then((error) => closeOnRefusal(conn, error));
  else closeOnRefusal(conn, result);
}

function closeOnRefusal(conn: SessionPort, error: RealtimeError | null): void {
  if (error !== null && error.code !== 'ERR_CLOSED') conn.close('protocol-error', error);
}
