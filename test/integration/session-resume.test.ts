/**
 * The session cookie on one node: the unmodified 0.6 client forgets its session whenever a
 * poll fails or its socket drops and opens a new handshake; the cookie lets that handshake
 * take its session back (same id, what it missed delivered, reported as `resume`), never a
 * session still in use, and acknowledges what each poll answer carried.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Conn, ResumeInfo } from '../../src/session/conn.js';
import { cookieNameOf } from '../../src/transports/session-cookie.js';
import { CookieJar } from '../helpers/cookie-jar.js';
import { JarPollClient, jarWebSocket } from '../helpers/jar-poll.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

const texts = (answer: { messages: Array<{ type: string; data: unknown }> }) =>
  answer.messages.filter((m) => m.type === 'text').map((m) => m.data);

describe('session cookie: resuming a session on one node', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(options: Parameters<typeof startServer>[0] = {}) {
    const resumed: Array<{ conn: Conn; info: ResumeInfo }> = [];
    let connections = 0;
    started = await startServer({ heartbeatIntervalMs: 0, pollDurationMs: 2_000, ...options }, (server) => {
      server.on('resume', (conn, info) => void resumed.push({ conn, info }));
      server.onConnect(() => void connections++);
    });
    return { ...started, resumed, connections: () => connections };
  }

  it('sets an HttpOnly, SameSite=Lax cookie on the handshake, scoped to the resource', async () => {
    const s = await start();
    const client = new JarPollClient(s.baseUrl);
    const answer = await client.handshake();
    expect(answer.setCookie).toHaveLength(1);
    const cookie = answer.setCookie[0]!;
    expect(cookie).toMatch(new RegExp(`^${cookieNameOf('sy.sid', client.sessionId).replace('.', '\\.')}=`));
    expect(cookie).toContain(`=${client.sessionId}.0;`);
    expect(cookie).toContain('Path=/socket.io');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toContain('Secure');
  });

  it('is Secure behind a trusted TLS proxy, and absent with sessionCookie: false', async () => {
    let s = await start({ trustProxy: ['127.0.0.1'] });
    const secure = await fetch(`${s.baseUrl}/socket.io/xhr-polling//1`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(secure.headers.get('set-cookie')).toContain('; Secure');
    await s.close();
    started = undefined;
    s = await start({ sessionCookie: false });
    const plain = await fetch(`${s.baseUrl}/socket.io/xhr-polling//1`);
    expect(plain.headers.get('set-cookie')).toBeNull();
  });

  it('xhr-polling: a handshake after an abandoned poll resumes the session with what was queued', async () => {
    const s = await start();
    const client = new JarPollClient(s.baseUrl);
    await client.handshake();
    const sessionId = client.sessionId;
    const conn = s.server.getConn(sessionId)!;
    // The client gives up on a held poll (its network broke): the session's transport is lost.
    await client.abandonedPoll(100);
    await waitFor(() => conn.isResumable, { what: 'the session to count as lost' });
    expect(conn.send('while away').ok).toBe(true);
    const answer = await client.handshake();
    expect(client.sessionId).toBe(sessionId);
    expect(texts(answer)).toEqual(['while away']);
    expect(s.resumed.map((r) => r.info)).toEqual([
      { replayedMessages: 1, resentMessages: 0, lostMessages: 0, adopted: false },
    ]);
    expect(s.connections()).toBe(1);
    // It carries on as the same session.
    conn.send('after');
    expect(texts(await client.poll())).toEqual(['after']);
  });

  it('sends again what a lost answer carried, beyond what the cookie acknowledges', async () => {
    const s = await start();
    const client = new JarPollClient(s.baseUrl);
    await client.handshake();
    const conn = s.server.getConn(client.sessionId)!;
    for (const text of ['one', 'two']) conn.send(text);
    expect(texts(await client.poll())).toEqual(['one', 'two']);
    for (const text of ['three', 'four']) conn.send(text);
    // This answer reaches the socket, but not the browser (its cookie never arrives either).
    expect(texts(await client.poll({ keepCookies: false }))).toEqual(['three', 'four']);
    await client.abandonedPoll(50);
    await waitFor(() => conn.isResumable);
    const answer = await client.handshake();
    expect(texts(answer)).toEqual(['three', 'four']);
    expect(s.resumed[0]?.info).toMatchObject({ replayedMessages: 2, resentMessages: 2 });
  });

  it('never takes a session in use: a second tab sharing the cookie gets its own session', async () => {
    const s = await start();
    const jar = new CookieJar();
    const tab1 = await jarWebSocket(s.wsUrl, jar);
    const tab2 = await jarWebSocket(s.wsUrl, jar);
    expect(tab2.sessionId).not.toBe(tab1.sessionId);
    expect(jar.entries()).toHaveLength(2);
    expect(s.resumed).toHaveLength(0);
    tab1.ws.close();
    tab2.ws.close();
  });

  it('never takes a polling session whose client polls on: a second tab gets its own session', async () => {
    const s = await start();
    const client = new JarPollClient(s.baseUrl);
    await client.handshake();
    const first = client.sessionId;
    // The handshake answer ended normally: the session waits for its next poll.
    expect(s.server.getConn(first)?.isResumable).toBe(false);
    // The first tab polls on (its poll is held) while the second tab's handshake looks.
    const held = client.poll();
    const other = new JarPollClient(s.baseUrl, client.jar);
    await other.handshake();
    expect(other.sessionId).not.toBe(first);
    s.server.getConn(first)?.send('still mine');
    expect(texts(await held)).toEqual(['still mine']);
  });

  it('resumes a polling session whose client did not poll again (its poll died on the way), after lostPollGapMs', async () => {
    const s = await start({ lostPollGapMs: 300 });
    const client = new JarPollClient(s.baseUrl);
    await client.handshake();
    const first = client.sessionId;
    s.server.getConn(first)?.send('missed');
    // No poll comes: the handshake waits until the gap says the client is not coming back that way.
    const again = new JarPollClient(s.baseUrl, client.jar);
    const answer = await again.handshake();
    expect(again.sessionId).toBe(first);
    expect(texts(answer)).toEqual(['missed']);
    expect(s.resumed).toHaveLength(1);
  });

  it('websocket: after the socket drops, a handshake with the cookie resumes the session', async () => {
    const s = await start();
    const jar = new CookieJar();
    const before = await jarWebSocket(s.wsUrl, jar);
    const conn = s.server.getConn(before.sessionId)!;
    before.ws.terminate();
    await waitFor(() => conn.isResumable, { what: 'the socket drop' });
    conn.send('missed');
    const after = await jarWebSocket(s.wsUrl, jar);
    expect(after.sessionId).toBe(before.sessionId);
    await waitFor(() => after.texts.length === 1);
    expect(after.texts).toEqual(['missed']);
    expect(s.resumed).toHaveLength(1);
    expect(s.connections()).toBe(1);
    after.ws.close();
  });

  it('acknowledges with the cookie: a poll whose cookie names a sequence number settles what it covers', async () => {
    const s = await start();
    const client = new JarPollClient(s.baseUrl);
    await client.handshake();
    const conn = s.server.getConn(client.sessionId)!;
    conn.send('a');
    const answer = await client.poll();
    expect(answer.setCookie[0]).toContain(`=${client.sessionId}.1;`);
    conn.send('b');
    expect(texts(await client.poll())).toEqual(['b']);
    expect(client.jar.entries()[0]?.[1]).toBe(`${client.sessionId}.2`);
  });

  it('removes cookies of sessions that are gone, on the next handshake', async () => {
    const s = await start();
    const client = new JarPollClient(s.baseUrl);
    await client.handshake();
    s.server.getConn(client.sessionId)?.close();
    await client.handshake();
    expect(client.jar.entries().map(([, value]) => value.split('.')[0])).toEqual([client.sessionId]);
  });
});
