/** The browser cookie jar of the cluster test clients (RFC 6265 §5), on fixed clocks. */
import { describe, expect, it } from 'vitest';
import { CookieJar, pathMatches } from '../helpers/cookie-jar.js';

const BASE = 'http://127.0.0.1:8080';

describe('CookieJar', () => {
  it('keeps a cookie and sends it back to matching paths only', () => {
    const jar = new CookieJar();
    jar.store('sid=abc; Path=/socket.io; HttpOnly; SameSite=Lax', `${BASE}/socket.io/xhr-polling//1`);
    expect(jar.header(`${BASE}/socket.io/xhr-polling/x/2`)).toBe('sid=abc');
    expect(jar.header(`${BASE}/socket.io`)).toBe('sid=abc');
    expect(jar.header(`${BASE}/socket.iox/`)).toBeUndefined();
    expect(jar.header(`${BASE}/`)).toBeUndefined();
    expect(jar.header('ws://127.0.0.1:8080/socket.io/websocket')).toBe('sid=abc');
    expect(jar.get('sid')).toMatchObject({ isHttpOnly: true, sameSite: 'Lax', isHostOnly: true });
  });

  it('defaults the path to the directory of the request (§5.1.4)', () => {
    const jar = new CookieJar();
    jar.store('a=1', `${BASE}/socket.io/xhr-polling/send`);
    jar.store('b=2', `${BASE}/page`);
    expect(jar.get('a')?.path).toBe('/socket.io/xhr-polling');
    expect(jar.get('b')?.path).toBe('/');
  });

  it('replaces a cookie of the same name and path, and sends longer paths first', () => {
    const jar = new CookieJar();
    jar.store(['x=root; Path=/', 'x=deep; Path=/socket.io', 'x=root2; Path=/'], `${BASE}/`);
    expect(jar.header(`${BASE}/socket.io/websocket`)).toBe('x=deep; x=root2');
    expect(jar.all()).toHaveLength(2);
  });

  it('deletes on Max-Age=0 and on an Expires in the past; Max-Age wins over Expires', () => {
    let now = 1_000_000;
    const jar = new CookieJar({ now: () => now });
    jar.store(['a=1; Path=/', 'b=2; Path=/; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:00 GMT'], BASE + '/');
    expect(jar.header(BASE + '/')).toBe('a=1; b=2');
    jar.store('a=gone; Path=/; Max-Age=0', BASE + '/');
    expect(jar.header(BASE + '/')).toBe('b=2');
    now += 10_001;
    expect(jar.header(BASE + '/')).toBeUndefined();
    jar.store(['c=3; Path=/', 'c=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'], BASE + '/');
    expect(jar.all()).toEqual([]);
  });

  it('sends Secure cookies over https and wss only, and refuses a foreign Domain', () => {
    const jar = new CookieJar();
    jar.store(['s=1; Secure; Path=/', 'd=2; Domain=example.com; Path=/'], `${BASE}/`);
    expect(jar.header(`${BASE}/`)).toBeUndefined();
    expect(jar.header('https://127.0.0.1:8080/')).toBe('s=1');
    expect(jar.header('wss://127.0.0.1:8080/socket.io/websocket')).toBe('s=1');
    const named = new CookieJar();
    named.store('p=1; Domain=example.com; Path=/', 'http://app.example.com/');
    expect(named.header('http://other.example.com/')).toBe('p=1');
    expect(named.header('http://example.org/')).toBeUndefined();
  });

  it('takes paths alone on its origin, lists its entries, and clones into a snapshot', () => {
    const jar = new CookieJar();
    jar.store(['sy.sid.a=1.2; Path=/socket.io', 'top=1']);
    expect(jar.header('/socket.io/websocket')).toBe('sy.sid.a=1.2; top=1');
    expect(jar.header('http://127.0.0.1:9999/socket.io/x')).toBe('sy.sid.a=1.2; top=1');
    expect(jar.header('/other')).toBe('top=1');
    const copy = jar.clone();
    jar.store('sy.sid.a=; Path=/socket.io; Max-Age=0');
    expect(jar.entries()).toEqual([['top', '1']]);
    expect(copy.entries()).toEqual([
      ['sy.sid.a', '1.2'],
      ['top', '1'],
    ]);
  });

  it('ignores a Set-Cookie without a name', () => {
    const jar = new CookieJar();
    jar.store(['=nameless', 'novalue'], `${BASE}/`);
    expect(jar.all()).toEqual([]);
  });

  it.each([
    ['/socket.io', '/socket.io', true],
    ['/socket.io/websocket', '/socket.io', true],
    ['/socket.io/', '/socket.io/', true],
    ['/socket.iox', '/socket.io', false],
    ['/', '/socket.io', false],
  ])('path %s matches cookie path %s: %s', (request, cookie, expected) => {
    expect(pathMatches(request, cookie)).toBe(expected);
  });
});
