import type { PreparedMessage } from '../hub/prepared.js';

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
