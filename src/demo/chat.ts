/**
 * The chat demo's server side: rooms, nicknames, who is here, and a short history per
 * room, all kept in this process. The page is `www/index.html`; any 0.6 transport works.
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
import type { Conn } from '../session/conn.js';
import type { Switchyard } from '../server.js';

export const CHAT_LIMITS = {
  /** Messages kept per room and replayed to whoever joins. */
  historyLength: 50,
  nickLength: 24,
  roomLength: 24,
  textLength: 500,
  /** Rooms remembered at once; an empty room is forgotten to make space for a new one. */
  rooms: 100,
} as const;

const DEFAULT_ROOM = 'lobby';

interface Line {
  readonly nick: string;
  readonly text: string;
  readonly at: number;
}

interface Member {
  readonly conn: Conn;
  readonly nick: string;
  readonly room: string;
  readonly key: string;
}

interface Room {
  /** By connection id. */
  readonly members: Map<string, Member>;
  readonly history: Line[];
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

export function installChat(server: Switchyard): void {
  const rooms = new Map<string, Room>();
  const members = new Map<string, Member>();

  function users(room: Room): Array<{ nick: string; transport: string }> {
    return [...room.members.values()]
      .map((m) => ({ nick: m.nick, transport: m.conn.transport }))
      .sort((a, b) => a.nick.localeCompare(b.nick));
  }

  /** The room, made if need be; undefined when every remembered room is in use. */
  function roomFor(name: string): Room | undefined {
    let room = rooms.get(name);
    if (room !== undefined) return room;
    if (rooms.size >= CHAT_LIMITS.rooms) {
      const empty = [...rooms].find(([, r]) => r.members.size === 0);
      if (empty === undefined) return undefined;
      rooms.delete(empty[0]);
    }
    room = { members: new Map(), history: [] };
    rooms.set(name, room);
    return room;
  }

  /** `nick`, or `nick2`, `nick3`… when someone in the room already has it. */
  function uniqueNick(room: Room, nick: string): string {
    const taken = new Set([...room.members.values()].map((m) => m.nick.toLowerCase()));
    let candidate = nick;
    for (let n = 2; taken.has(candidate.toLowerCase()); n++) {
      candidate = clip(nick, CHAT_LIMITS.nickLength - String(n).length) + n;
    }
    return candidate;
  }

  /** Takes a member out of its room; `announce` tells the others. */
  function remove(member: Member, announce: boolean): void {
    members.delete(member.conn.id);
    const room = rooms.get(member.room);
    if (room === undefined) return;
    room.members.delete(member.conn.id);
    server.leave(member.conn, member.room);
    if (announce) server.to(member.room).send({ type: 'left', nick: member.nick, at: Date.now(), users: users(room) });
  }

  function leaveRoom(conn: Conn): void {
    const member = members.get(conn.id);
    if (member !== undefined) remove(member, true);
  }

  function welcome(member: Member, room: Room): void {
    member.conn.send({
      type: 'welcome',
      nick: member.nick,
      room: member.room,
      at: Date.now(),
      history: room.history,
      users: users(room),
    });
  }

  function join(conn: Conn, request: Record<string, unknown>): void {
    const wanted = tidy(request.nick, CHAT_LIMITS.nickLength);
    if (wanted === '') {
      conn.send({ type: 'refused', reason: 'a nickname needs at least one visible character' });
      return;
    }
    const name = roomName(request.room);
    const key = typeof request.key === 'string' ? request.key.slice(0, 64) : '';
    const room = roomFor(name);
    if (room === undefined) {
      conn.send({ type: 'refused', reason: 'every room is in use; join one of them' });
      return;
    }
    const current = members.get(conn.id);
    if (current?.room === name) {
      // Asked again: the page came back on the same session (resumed, maybe over another
      // transport), so the others hear who is here and over what.
      welcome(current, room);
      server
        .to(name)
        .except(conn)
        .send({ type: 'users', users: users(room) });
      return;
    }
    leaveRoom(conn);
    // The same page on a new session: it takes over its old self, whose session is on its way out.
    const earlier = key === '' ? undefined : [...room.members.values()].find((m) => m.key === key);
    if (earlier !== undefined) remove(earlier, false);
    const member = { conn, nick: uniqueNick(room, wanted), room: name, key };
    members.set(conn.id, member);
    room.members.set(conn.id, member);
    server.join(conn, name);
    welcome(member, room);
    const others = server.to(name).except(conn);
    if (earlier !== undefined) others.send({ type: 'users', users: users(room) });
    else others.send({ type: 'joined', nick: member.nick, at: Date.now(), users: users(room) });
  }

  function say(conn: Conn, value: unknown): void {
    const member = members.get(conn.id);
    const text = typeof value === 'string' ? clip(value.replace(/\p{Cc}+/gu, ' ').trim(), CHAT_LIMITS.textLength) : '';
    if (member === undefined || text === '') return;
    const room = rooms.get(member.room);
    if (room === undefined) return;
    const line = { nick: member.nick, text, at: Date.now() };
    room.history.push(line);
    if (room.history.length > CHAT_LIMITS.historyLength) room.history.shift();
    server.to(member.room).send({ type: 'message', ...line });
  }

  server.onMessage((conn, data) => {
    const message = record(data);
    if ('join' in message) join(conn, record(message.join));
    else if ('say' in message) say(conn, message.say);
    else if ('leave' in message) leaveRoom(conn);
  });

  server.onDisconnect((conn) => leaveRoom(conn));
}
