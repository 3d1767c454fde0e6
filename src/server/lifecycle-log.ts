/**
 * The info lines an operator reads: a 0.6 session opened and closed, a websocket upgrade
 * accepted or refused. Ids are cut short (a full session id is a bearer credential). Two short
 * chats make a handful of these lines, where per-request lines (debug) made a hundred.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { UpgradeOutcome } from '../http/upgrades.js';
import { redactSessionId } from '../hub/ids.js';
import type { DisconnectInfo } from '../hub/results.js';
import type { Conn } from '../session/conn.js';

export function logSessionOpened(log: FastifyBaseLogger | undefined, conn: Conn): void {
  log?.info(
    {
      family: 'socketio06',
      transport: conn.transport,
      sessionId: redactSessionId(conn.sessionId),
      remoteAddress: conn.remoteAddress,
      origin: conn.origin,
    },
    'session opened',
  );
}

/** Why it closed, how long it lived, what went each way and what was lost. */
export function logSessionClosed(log: FastifyBaseLogger | undefined, conn: Conn, info: DisconnectInfo): void {
  log?.info(
    {
      family: 'socketio06',
      transport: conn.transport,
      sessionId: redactSessionId(conn.sessionId),
      reason: info.reason,
      durationMs: Date.now() - conn.openedAt,
      messagesReceived: conn.messagesReceived,
      messagesSent: conn.messagesSent,
      // No error code: `reason` says what happened, and a client's bad input (protocol-error)
      // is logged at debug only, where the server reports it.
      lostMessages: info.lostMessages,
    },
    'session closed',
  );
}

export function logUpgrade(log: FastifyBaseLogger | undefined, remoteAddress: string, outcome: UpgradeOutcome): void {
  const { pathname, status, code } = outcome;
  if (outcome.isAccepted) log?.info({ path: pathname, remoteAddress }, 'websocket upgrade accepted');
  else log?.info({ path: pathname, remoteAddress, status, code }, 'websocket upgrade refused');
}
