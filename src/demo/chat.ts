/**
 * The chat demo's server side: nicknames, messages, and join/leave notices sent with
 * broadcastExcept. The page is `www/index.html`; any 0.6 transport works.
 *
 * Client → server: `{ nick: string }` once, then `{ text: string }` per message.
 * Server → client: `{ welcome: nick, history: [...] }`, `{ message: { nick, text } }`,
 * `{ notice: string }`.
 */
import type { Conn } from '../session/conn.js';
import type { Switchyard } from '../server.js';

const HISTORY_LENGTH = 20;
const MAX_NICK_LENGTH = 32;
const MAX_TEXT_LENGTH = 2000;

interface ChatLine {
  readonly nick: string;
  readonly text: string;
}

function field(data: unknown, name: string): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const value = (data as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

export function installChat(server: Switchyard): void {
  const nicks = new WeakMap<Conn, string>();
  const history: ChatLine[] = [];

  server.onMessage((conn, data) => {
    const nick = field(data, 'nick')?.trim().slice(0, MAX_NICK_LENGTH);
    if (nick !== undefined && nick !== '' && !nicks.has(conn)) {
      nicks.set(conn, nick);
      conn.send({ welcome: nick, history });
      server.broadcastExcept(conn, { notice: `${nick} joined` });
      return;
    }
    const text = field(data, 'text')?.slice(0, MAX_TEXT_LENGTH);
    const author = nicks.get(conn);
    if (text === undefined || author === undefined || text === '') return;
    const line = { nick: author, text };
    history.push(line);
    if (history.length > HISTORY_LENGTH) history.shift();
    server.broadcast({ message: line });
  });

  server.onDisconnect((conn) => {
    const nick = nicks.get(conn);
    if (nick !== undefined) server.broadcastExcept(conn, { notice: `${nick} left` });
  });
}
