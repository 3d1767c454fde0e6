/**
 * What a 0.6 session does with a payload from its client: decode it whole, then hand each
 * message on — heartbeat echoes to the session's clock, messages (within the rate) to the
 * application, a disconnect frame to `close`. Module functions over a narrow view of the
 * session, so that the session's state machine (`conn.ts`) stays one read and no session
 * pays for a helper object.
 */
import type { InboundMessage, PayloadDecoder } from '../codecs/types.js';
import { RealtimeError } from '../errors.js';
import { allowOne, type RateHolder } from '../http/rate-limit.js';
import type { Instruments } from '../hub/instruments.js';
import type { DisconnectReason } from '../hub/results.js';
import type { ConnState } from './conn-types.js';
import { FAMILY } from './outbox.js';

/** What inbound handling needs of a session (the Conn). */
export interface InboundSession extends RateHolder {
  readonly state: ConnState;
  /** Client messages dropped for going over `maxMessagesPerSecond`. */
  rateLimitedMessages: number;
  /** Messages from the client handed to the application. */
  messagesReceived: number;
  readonly inboundDecoder: PayloadDecoder;
  readonly instruments: Instruments;
  /** Messages per second; over it they are dropped and counted. 0 = no limit. */
  readonly maxMessagesPerSecond: number;
  /** The client echoed heartbeat `n`. */
  heartbeatAnswered(n: number): void;
  /** Hands a message to the application. */
  messageIn(data: unknown): void;
  /** Reports a payload that was refused or could not be handled. */
  inboundError(error: RealtimeError): void;
  close(reason: DisconnectReason): void;
}

/**
 * One payload from the client. Every frame is handled, heartbeat echoes included. A
 * payload that does not decode is refused whole: nothing of it is delivered, and the
 * error comes back for the transport to answer (400, or close 1007).
 */
export function receivePayload(session: InboundSession, payload: string): RealtimeError | null {
  if (isClosed(session)) return new RealtimeError('ERR_CLOSED', 'the session is closed');
  const result = session.inboundDecoder.push(payload);
  if (!result.ok) {
    session.inboundError(result.error);
    return result.error;
  }
  for (const message of result.value) {
    // A message handler may have closed the session; the rest of the payload is moot.
    if (isClosed(session)) break;
    try {
      handleMessage(session, message);
    } catch (cause) {
      // The fault boundary of one inbound message: application code is guarded where it
      // runs, so whatever gets here is ours (measuring, dispatch). The client hears of it,
      // the process and every other session go on.
      const error = new RealtimeError('ERR_HANDLER_FAILED', 'a message could not be handled', { cause });
      session.inboundError(error);
      return error;
    }
  }
  return null;
}

function handleMessage(session: InboundSession, message: InboundMessage): void {
  switch (message.type) {
    case 'heartbeat':
      session.heartbeatAnswered(Number(message.data));
      return;
    case 'text':
    case 'json':
      deliver(session, message.data);
      return;
    case 'json-invalid':
      // `~j~` followed by bad JSON is most likely a text message that starts with "~j~":
      // the protocol has no escaping. Deliver it as the text it was.
      deliver(session, '~j~' + message.data);
      return;
    case 'disconnect':
      session.close('client');
      return;
    case 'handshake':
      return;
  }
}

/**
 * Over `maxMessagesPerSecond`, a message is dropped and counted — never answered with a
 * status: the 0.6 client would drop its whole session over a refused POST.
 */
function deliver(session: InboundSession, data: unknown): void {
  if (!allowOne(session, session.maxMessagesPerSecond)) {
    session.rateLimitedMessages++;
    return;
  }
  session.messagesReceived++;
  session.instruments.received(FAMILY, 1);
  session.messageIn(data);
}

/** A function, not an inline test: a handler may close the session between two reads. */
function isClosed(session: InboundSession): boolean {
  return session.state === 'closed';
}
