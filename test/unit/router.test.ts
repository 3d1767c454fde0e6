import { describe, expect, it } from 'vitest';
import { jsonpIndex, routeLegacy } from '../../src/http/router.js';

describe('routeLegacy', () => {
  it.each([
    ['/socket.io/websocket', { transport: 'websocket', sessionId: '', rest: [] }],
    ['/socket.io/xhr-multipart/', { transport: 'xhr-multipart', sessionId: '', rest: [] }],
    ['/socket.io/xhr-polling//1700000000000', { transport: 'xhr-polling', sessionId: '', rest: ['1700000000000'] }],
    ['/socket.io/htmlfile//1700000000000', { transport: 'htmlfile', sessionId: '', rest: ['1700000000000'] }],
    [
      '/socket.io/jsonp-polling//1700000000000/0',
      { transport: 'jsonp-polling', sessionId: '', rest: ['1700000000000', '0'] },
    ],
    [
      '/socket.io/xhr-polling/Ab3dE5gH7jK9mN1p/1700000000000',
      { transport: 'xhr-polling', sessionId: 'Ab3dE5gH7jK9mN1p', rest: ['1700000000000'] },
    ],
    [
      '/socket.io/xhr-polling/Ab3dE5gH7jK9mN1p/send',
      { transport: 'xhr-polling', sessionId: 'Ab3dE5gH7jK9mN1p', rest: ['send'] },
    ],
    ['/socket.io/websocket/Ab3dE5gH7jK9mN1p', { transport: 'websocket', sessionId: 'Ab3dE5gH7jK9mN1p', rest: [] }],
    ['/socket.io/xhr-polling//1700000000000?t=1', { transport: 'xhr-polling', sessionId: '', rest: ['1700000000000'] }],
    ['/socket.io/xhr-polling///x', { transport: 'xhr-polling', sessionId: '', rest: ['', 'x'] }],
    ['/socket.io/nope/abc', { transport: 'nope', sessionId: 'abc', rest: [] }],
  ])('%s keeps every segment, empty ones included', (url, expected) => {
    expect(routeLegacy('socket.io', url)).toEqual({ kind: 'transport', ...expected });
  });

  it.each(['socket.io.js', 'WebSocketMain.swf', 'lib/vendor/web-socket-js/WebSocketMain.swf'])(
    'routes the client file %s',
    (file) => {
      expect(routeLegacy('socket.io', `/socket.io/${file}`)).toEqual({ kind: 'client-file', file });
      expect(routeLegacy('socket.io', `/socket.io/${file}?v=1`)).toEqual({ kind: 'client-file', file });
    },
  );

  it.each(['/', '/socket.io', '/socket.iox/websocket', '/other/websocket', '//socket.io/websocket'])(
    'leaves %s to others',
    (url) => {
      expect(routeLegacy('socket.io', url)).toBeNull();
    },
  );

  it('answers an empty transport segment as an unknown transport, not as "not ours"', () => {
    expect(routeLegacy('socket.io', '/socket.io/')).toEqual({
      kind: 'transport',
      transport: '',
      sessionId: '',
      rest: [],
    });
    expect(routeLegacy('socket.io', '/socket.io//abc')).toEqual({
      kind: 'transport',
      transport: '',
      sessionId: 'abc',
      rest: [],
    });
  });

  it('uses the configured resource', () => {
    expect(routeLegacy('rt', '/rt/websocket')).toEqual({
      kind: 'transport',
      transport: 'websocket',
      sessionId: '',
      rest: [],
    });
    expect(routeLegacy('rt', '/socket.io/websocket')).toBeNull();
  });
});

describe('jsonpIndex', () => {
  it.each([
    [['1700000000000', '0'], 0],
    [['1700000000000', '12'], 12],
    [['1700000000000', '999999'], 999999],
  ])('%j → %d', (rest, index) => {
    expect(jsonpIndex(rest)).toBe(index);
  });

  it.each([[[]], [['1700000000000', '']], [['1700000000000', 'x1']], [['1700000000000', '1234567']], [['-1']]])(
    '%j has no index',
    (rest) => {
      expect(jsonpIndex(rest)).toBeNull();
    },
  );
});
