/**
 * The chat demo's server side: rooms, nicknames, who is here, and a short history per room.
 * Everything is asked of the server's cluster-wide API, so several nodes behind a balancer
 * (`--redis`) show one room: who is here is `fetchMembers` with each session's profile
 * (`conn.data`, kept in its record), the history is the room's log (`appendRoomLog`), and the
 * joined / left notices come from presence, which fires once in the cluster. On one node the
 * same calls answer for that node. The page is `www/index.html`; any 0.6 transport works.
 *
 * Client → server, plain 0.6 JSON messages:
 *   `{ join: { nick, room, key } }`  enter a room, leaving the one you were in
 *   `{ say: text }`                  a message to your room
 *   `{ leave: true }`                leave your room now
 * `key` is the page's own random token, never shown to anyone: the same page back on a new
 * session (it reconnected, or switched transport) takes its old place in the room, without
 * leave and join notices.
 * Server → client, objects with a `type`:
 *   `welcome`  `{ nick, room, at, history, users }`: history oldest first, then you are in
 *   `message`  `{ nick, text, at }`
 *   `joined`, `left`  `{ nick, at, users }`
 *   `users`  `{ users }` (someone came back on a new session, maybe on another transport)
 *   `refused`  `{ reason }`
 * `at` is milliseconds since the epoch; `users` is `[{ nick, transport }]`, sorted by nick.
 */
import type { PresenceEvent } from '../hub/membership.js';
import type { Conn } from '../session/conn.js';
import type { Switchyard } from '../server.js';

export const CHAT_LIMITS = {
  /** Messages kept per room and replayed to whoever joins. */
  historyLength: 50,
  nickLength: 24,
  roomLength: 24,
  textLength: 500,
} as const;

const DEFAULT_ROOM = 'lobby';

/** A chat member's profile: its session's `data`, so that every node can read it. */
interface Profile {
  readonly nick: string;
  readonly room: string;
  readonly key: string;
  /** It took the place of an earlier session of the same page: its join is no news. */
  readonly isReturn?: boolean;
  /** A later session of the same page took its place: its leave is no news. */
  readonly isReplaced?: boolean;
}

/** A member of a room as any node sees it. */
interface Present extends Profile {
  readonly id: string;
  readonly transport: string;
}

/** At most `max` characters (code points, so an emoji is never cut in half). */
function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? chars.slice(0, max).join('') : text;
}

/** Control characters become spaces; runs of white space become one space. */
function tidy(value: unknown, max: number): string {
  if (typeof value !== 'string') return '';
  return clip(value.replace(/[\p{Cc}\s]+/gu, ' ').trim(), max).trim();
}

/** Room names are letters (in lower case), digits, `-` and `_`; anything else becomes `-`. */
function roomName(value: unknown): string {
  const name = tidy(value, CHAT_LIMITS.roomLength)
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_-]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return name === '' ? DEFAULT_ROOM : name;
}

function record(data: unknown): Record<string, unknown> {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

function profileOf(data: unknown): Profile | undefined {
  const value = record(data);
  return typeof value.nick === 'string' && typeof value.room === 'string' ? (value as unknown as Profile) : undefined;
}

/** `nick`, or `nick2`, `nick3`… when someone in `present` already has it. */
function uniqueNick(present: readonly Present[], nick: string): string {
  const taken = new Set(present.map((m) => m.nick.toLowerCase()));
  let candidate = nick;
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) {
    candidate = clip(nick, CHAT_LIMITS.nickLength - String(n).length) + n;
  }
  return candidate;
}

export function installChat(server: Switchyard): void {
  /** Everyone in `room` on every node, one entry per page (a page's sessions share its key). */
  async function presentIn(room: string): Promise<Present[]> {
    const ids = await server.fetchMembers(room);
    const found = await Promise.all(ids.map((id) => describe(id)));
    const byPage = new Map<string, Present>();
    for (const member of found) {
      if (member === undefined || member.room !== room || member.isReplaced === true) continue;
      byPage.set(member.key === '' ? `id:${member.id}` : `key:${member.key}`, member);
    }
    return [...byPage.values()];
  }

  /** A member's profile: this node's session at once, another node's from the store. */
  async function describe(id: string): Promise<Present | undefined> {
    const conn = server.getConn(id);
    if (conn !== undefined) {
      const profile = profileOf(conn.data);
      return profile && { ...profile, id, transport: conn.transport };
    }
    const session = await server.fetchSession(id).catch(() => null);
    const profile = profileOf(session?.data);
    return session === null || profile === undefined ? undefined : { ...profile, id, transport: session.transport };
  }

  function users(present: readonly Present[]): Array<{ nick: string; transport: string }> {
    return present.map((m) => ({ nick: m.nick, transport: m.transport })).sort((a, b) => a.nick.localeCompare(b.nick));
  }

  async function join(conn: Conn, request: Record<string, unknown>): Promise<void> {
    const wanted = tidy(request.nick, CHAT_LIMITS.nickLength);
    if (wanted === '') {
      conn.send({ type: 'refused', reason: 'a nickname needs at least one visible character' });
      return;
    }
    const name = roomName(request.room);
    const key = typeof request.key === 'string' ? request.key.slice(0, 64) : '';
    const current = profileOf(conn.data);
    if (current?.room === name) {
      // Asked again: the page came back on the same session (resumed, maybe over another
      // transport), so the others hear who is here and over what.
      const present = await presentIn(name);
      await welcome(conn, current, present);
      server
        .to(name)
        .except(conn)
        .send({ type: 'users', users: users(present) });
      return;
    }
    if (current !== undefined && current.room !== '') server.leave(conn, current.room);
    const present = await presentIn(name);
    // The same page on a new session: it takes over its old self, whose session is on its way out.
    const earlier = key === '' ? undefined : present.find((m) => m.key === key && m.id !== conn.id);
    const others = present.filter((m) => m !== earlier && m.id !== conn.id);
    const profile: Profile = { nick: uniqueNick(others, wanted), room: name, key, ...(earlier && { isReturn: true }) };
    conn.data = profile;
    server.join(conn, name);
    if (earlier !== undefined) replace(earlier);
    await welcome(conn, profile, [...others, { ...profile, id: conn.id, transport: conn.transport }]);
  }

  /** The earlier session of a page leaves its room quietly (at once when it is here; else when it ends). */
  function replace(earlier: Present): void {
    const old = server.getConn(earlier.id);
    if (old === undefined) return;
    old.data = { ...profileOf(old.data), isReplaced: true };
    server.leave(old, earlier.room);
  }

  async function welcome(conn: Conn, profile: Profile, present: readonly Present[]): Promise<void> {
    const history = await server.fetchRoomLog(profile.room).catch(() => []);
    conn.send({
      type: 'welcome',
      nick: profile.nick,
      room: profile.room,
      at: Date.now(),
      history,
      users: users(present),
    });
  }

  function say(conn: Conn, value: unknown): void {
    const profile = profileOf(conn.data);
    const text = typeof value === 'string' ? clip(value.replace(/\p{Cc}+/gu, ' ').trim(), CHAT_LIMITS.textLength) : '';
    if (profile === undefined || text === '') return;
    const line = { nick: profile.nick, text, at: Date.now() };
    void server.appendRoomLog(profile.room, line, CHAT_LIMITS.historyLength).catch(() => undefined);
    server.to(profile.room).send({ type: 'message', ...line });
  }

  function leaveRoom(conn: Conn): void {
    const profile = profileOf(conn.data);
    if (profile === undefined || profile.room === '') return;
    // In no room now; the nick stays for the leave notice.
    conn.data = { ...profile, room: '' };
    server.leave(conn, profile.room);
  }

  /** Presence fires once in the cluster, on one node: that node tells the room, on every node. */
  async function announce(event: PresenceEvent): Promise<void> {
    const profile = profileOf((event.member as { data?: unknown } | undefined)?.data);
    if (event.type === 'join' && profile?.room !== event.room) return; // not a chat join
    if (event.type === 'leave' && profile?.isReplaced === true) return;
    const present = await presentIn(event.room);
    const others = server.to(event.room).except(event.memberId);
    if (profile === undefined) {
      others.send({ type: 'users', users: users(present) });
    } else if (event.type === 'join') {
      if (profile.isReturn === true) others.send({ type: 'users', users: users(present) });
      else others.send({ type: 'joined', nick: profile.nick, at: Date.now(), users: users(present) });
    } else if (!present.some((m) => profile.key !== '' && m.key === profile.key)) {
      // (A page whose newer session is here has not left.)
      others.send({ type: 'left', nick: profile.nick, at: Date.now(), users: users(present) });
    }
  }

  server.onMessage((conn, data) => {
    const message = record(data);
    if ('join' in message) return join(conn, record(message.join));
    if ('say' in message) return say(conn, message.say);
    if ('leave' in message) return leaveRoom(conn);
    return undefined;
  });
  server.onPresence((event) => announce(event));
}
