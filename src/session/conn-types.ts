/**
 * The shapes a 0.6 session is made and reported with: its state, its options, what a resumed
 * session reports and the events it emits. Apart from `conn.ts` so that the session's state
 * machine reads alone, and so that modules needing only these types do not load the session.
 */
import type { DisconnectInfo, QueueOverflowPolicy } from '../hub/results.js';
import type { Codec } from '../codecs/types.js';
import type { RealtimeError } from '../errors.js';
import type { SendQueueLimits } from './send-queue.js';

export type ConnState = 'connecting' | 'open' | 'detached' | 'closed';

export interface SessionOptions extends SendQueueLimits {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectWindowMs: number;
  readonly queueOverflow: QueueOverflowPolicy;
  /** Longest frame accepted from the client, in the codec's length unit. */
  readonly maxFrameLength: number;
  /** Deepest nesting of a client's JSON message; deeper is refused (ERR_JSON_TOO_DEEP). */
  readonly maxJsonDepth: number;
  /** Messages per second from the client; over it they are dropped and counted. 0 = no limit. */
  readonly maxMessagesPerSecond: number;
  /** Largest `conn.data`, as JSON text, in UTF-8 bytes. */
  readonly maxSessionDataBytes: number;
  /** A polling session whose client has not polled again this long after an answer counts as lost. */
  readonly lostPollGapMs: number;
  readonly codec: Codec;
}

/** See `Conn.resumability`. */
export interface Resumability {
  readonly resumable: boolean;
  readonly gone?: boolean;
  readonly via?: string;
  readonly idleMs?: number;
}

/** What a resumed session reports: how many messages went out again, or were lost meanwhile. */
export interface ResumeInfo {
  /**
   * Messages delivered on resuming: what waited in the queue, and what the lost transport
   * had been handed but the client never acknowledged (sent again).
   */
  readonly replayedMessages: number;
  /** Of those, messages sent again (a lost poll answer, or writes no socket confirmed). */
  readonly resentMessages: number;
  /** Messages the session lost before it was resumed (`drop-oldest`), since it began. */
  readonly lostMessages: number;
  /** The session was taken over from another node (its own node died or shut down). */
  readonly adopted: boolean;
}

export interface ConnEvents {
  resume: [info: ResumeInfo];
  message: [data: unknown];
  disconnect: [info: DisconnectInfo];
  error: [error: RealtimeError];
}
