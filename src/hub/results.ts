/**
 * What every family's members answer and report, whatever they speak: the result of a send
 * and the account of a disconnect. A 0.6 session, a sac-sock socket and a plain connection
 * all return these.
 */
import type { RealtimeError } from '../errors.js';

/** The answer to one send: accepted (written or queued), or refused with the reason. */
export type SendResult = { readonly ok: true } | { readonly ok: false; readonly error: RealtimeError };

/** Why a session ended. */
export type DisconnectReason =
  /** `conn.close()` or `server.close()` */
  | 'server'
  /** no transport came back within `reconnectWindowMs` */
  | 'window-expired'
  /** a heartbeat was not echoed within `heartbeatTimeoutMs` */
  | 'heartbeat-timeout'
  /** the send queue overflowed under the `close` policy (slow consumer) */
  | 'queue-overflow'
  /** the client sent a payload that could not be decoded */
  | 'protocol-error'
  /** the client said goodbye (the streaming codec's disconnect message) */
  | 'client'
  /** graceful shutdown of the server */
  | 'shutdown'
  /** another node took the session over (this one was thought dead); it lives on there */
  | 'taken-over'
  /** the shared session store lost the session (it came back empty) */
  | 'store-lost';

export interface DisconnectInfo {
  readonly reason: DisconnectReason;
  /** Frames the queue had accepted and could not deliver; 0 unless something was lost. */
  readonly lostMessages: number;
  /**
   * Frames handed to a transport whose delivery was still unsettled when the session closed.
   * If the socket then fails to take them, an `ERR_DELIVERY_FAILED` error event reports the count.
   */
  readonly unsettledMessages?: number;
  readonly error?: RealtimeError;
}

/** What to do when the send queue is full. */
/**
 * `refuse` the send; `close` the member as a slow consumer; `drop-oldest` (0.6 sessions
 * only; elsewhere it closes) drops the oldest queued frames to make room, counted as lost.
 */
export type QueueOverflowPolicy = 'refuse' | 'close' | 'drop-oldest';

/** Ends one reservation in the connection budget; calling it twice is harmless. */
export type Release = () => void;
