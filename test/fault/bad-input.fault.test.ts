/**
 * The "Bad input" promises of docs/limits.md, one request each, on a live server: the documented
 * status and `{code, message}` body. Table-driven; a new transport adds its rows (a bad
 * JSONP index, say).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { installEchoes, PLAIN_ECHO_PATH } from '../helpers/well-behaved.js';

interface BadInput {
  readonly what: string;
  /** `{sessionId}` becomes a live session's id. */
  readonly request: string;
  readonly status: number;
  readonly code: string;
}

const FORM = 'Content-Type: application/x-www-form-urlencoded\r\n';
function post(path: string, body: string, headers = FORM): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const get = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;
/** Upgrade headers of an RFC 6455 handshake, each part replaceable (an empty key leaves it out). */
function upgrade({ key = 'dGhlIHNhbXBsZSBub25jZQ==', version = '13', upgrade = 'websocket' }): string {
  const keyLine = key === '' ? '' : `Sec-WebSocket-Key: ${key}\r\n`;
  return `Upgrade: ${upgrade}\r\nConnection: Upgrade\r\nSec-WebSocket-Version: ${version}\r\n${keyLine}`;
}

const CASES: readonly BadInput[] = [
  {
    what: 'malformed frame',
    request: post('/socket.io/xhr-polling/{sessionId}/send', 'data=~m~5~m~abc'),
    status: 400,
    code: 'ERR_MALFORMED_FRAME',
  },
  {
    what: 'wrong length',
    request: post('/socket.io/xhr-polling/{sessionId}/send', 'data=~m~x~m~abc'),
    status: 400,
    code: 'ERR_MALFORMED_FRAME',
  },
  {
    what: 'no data field',
    request: post('/socket.io/xhr-polling/{sessionId}/send', 'other=1'),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'broken percent-escape',
    request: post('/socket.io/xhr-polling/{sessionId}/send', 'data=%E2%82'),
    status: 400,
    code: 'ERR_INVALID_UTF8',
  },
  {
    what: 'invalid UTF-8 body',
    // Sent as latin1: the byte 0xFF alone, which is never valid UTF-8.
    request: `POST /socket.io/xhr-polling/{sessionId}/send HTTP/1.1\r\nHost: 127.0.0.1\r\n${FORM}Content-Length: 6\r\n\r\ndata=\xff`,
    status: 400,
    code: 'ERR_INVALID_UTF8',
  },
  {
    what: 'unknown session',
    request: get('/socket.io/xhr-polling/AAAAAAAAAAAAAAAA/1'),
    status: 404,
    code: 'ERR_UNKNOWN_SESSION',
  },
  {
    what: 'send to an unknown session',
    request: post('/socket.io/xhr-polling/AAAAAAAAAAAAAAAA/send', 'data=' + encodeURIComponent(encodeFrame('x'))),
    status: 404,
    code: 'ERR_UNKNOWN_SESSION',
  },
  {
    what: 'send with no session',
    request: post('/socket.io/xhr-polling//send', 'data=' + encodeURIComponent(encodeFrame('x'))),
    status: 400,
    code: 'ERR_SESSION_REQUIRED',
  },
  {
    what: 'wrong method',
    request: 'PUT /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n',
    status: 405,
    code: 'ERR_METHOD_NOT_ALLOWED',
  },
  {
    what: 'unknown transport',
    request: get('/socket.io/carrier-pigeon//1'),
    status: 404,
    code: 'ERR_UNKNOWN_TRANSPORT',
  },
  { what: 'no transport', request: get('/socket.io/'), status: 404, code: 'ERR_UNKNOWN_TRANSPORT' },
  { what: 'unknown path', request: get('/nowhere'), status: 404, code: 'ERR_NOT_FOUND' },
  { what: 'malformed URL', request: get('/%E2%82'), status: 400, code: 'ERR_BAD_REQUEST' },
  {
    what: 'hostile origin',
    request: get('/socket.io/xhr-polling//1', 'Origin: http://evil.example\r\n'),
    status: 403,
    code: 'ERR_ORIGIN_REFUSED',
  },
  { what: 'websocket GET without upgrade', request: get('/socket.io/websocket'), status: 400, code: 'ERR_BAD_REQUEST' },
  {
    what: 'websocket handshake with a bad key',
    request: get(
      '/socket.io/websocket',
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n',
    ),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'websocket handshake by POST',
    request: post(
      '/socket.io/websocket',
      '',
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
    ),
    status: 405,
    code: 'ERR_METHOD_NOT_ALLOWED',
  },
  {
    what: 'oversize head',
    request: get('/socket.io/socket.io.js', `X-Big: ${'x'.repeat(20_000)}\r\n`),
    status: 431,
    code: 'ERR_HEADERS_TOO_LARGE',
  },
  { what: 'not HTTP at all', request: 'HELLO THERE\r\n\r\n', status: 400, code: 'ERR_BAD_REQUEST' },
  // jsonp-polling: the index is written into a script, so only 1–6 digits pass.
  ...['abc', '1234567', '0x1', 'alert(1)', '%3Cscript%3E', '1;alert(1)'].map((index) => ({
    what: `jsonp index ${JSON.stringify(index)}`,
    request: get(`/socket.io/jsonp-polling//${Date.now()}/${index}`),
    status: 400,
    code: 'ERR_BAD_CALLBACK',
  })),
  {
    what: 'jsonp poll of an unknown session',
    request: get('/socket.io/jsonp-polling/AAAAAAAAAAAAAAAA/1/0'),
    status: 404,
    code: 'ERR_UNKNOWN_SESSION',
  },
  {
    what: 'jsonp send, malformed frame',
    request: post('/socket.io/jsonp-polling/{sessionId}/1/0', 'data=~m~9~m~abc'),
    status: 400,
    code: 'ERR_MALFORMED_FRAME',
  },
  ...(['htmlfile', 'xhr-multipart'] as const).flatMap((transport) => [
    {
      what: `${transport} stream of an unknown session`,
      request: get(`/socket.io/${transport}/AAAAAAAAAAAAAAAA/1`),
      status: 404,
      code: 'ERR_UNKNOWN_SESSION',
    },
    {
      what: `${transport} send without a session`,
      request: post(`/socket.io/${transport}//send`, 'data=' + encodeURIComponent(encodeFrame('x'))),
      status: 400,
      code: 'ERR_SESSION_REQUIRED',
    },
    {
      what: `${transport} send, invalid UTF-8 escape`,
      request: post(`/socket.io/${transport}/{sessionId}/send`, 'data=%C3%28'),
      status: 400,
      code: 'ERR_INVALID_UTF8',
    },
  ]),
  {
    what: 'flashsocket GET without upgrade',
    request: get('/socket.io/flashsocket'),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'flashsocket handshake from a hostile origin',
    request: get(
      '/socket.io/flashsocket',
      `Upgrade: WebSocket\r\nConnection: Upgrade\r\nOrigin: http://evil.example\r\n`,
    ),
    status: 403,
    code: 'ERR_ORIGIN_REFUSED',
  },
  // A draft handshake (no key, no version) is checked like an RFC 6455 one before the driver sees it.
  {
    what: 'draft websocket handshake that is a POST',
    request: post('/socket.io/websocket', 'data=x', `${FORM}Upgrade: WebSocket\r\nConnection: Upgrade\r\n`),
    status: 405,
    code: 'ERR_METHOD_NOT_ALLOWED',
  },
  {
    what: 'draft flashsocket handshake, Upgrade: h2c',
    request: get('/socket.io/flashsocket', 'Upgrade: h2c\r\nConnection: Upgrade\r\n'),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  // sac-sock: refused as JSON before ws sees the request.
  {
    what: 'sac-sock handshake with a bad key',
    request: get('/socket', upgrade({ key: 'short' })),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'sac-sock handshake without a key',
    request: get('/socket', upgrade({ key: '' })),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'sac-sock handshake, version 7',
    request: get('/socket', upgrade({ version: '7' })),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'sac-sock handshake, Upgrade: h2c',
    request: get('/socket', upgrade({ upgrade: 'h2c' })),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'sac-sock handshake by POST',
    request: post('/socket', '', upgrade({})),
    status: 405,
    code: 'ERR_METHOD_NOT_ALLOWED',
  },
  {
    what: 'sac-sock handshake from another origin',
    request: get('/socket', upgrade({}) + 'Origin: http://evil.example\r\n'),
    status: 403,
    code: 'ERR_ORIGIN_REFUSED',
  },
  // A plain endpoint: its handshake table.
  {
    what: 'plain handshake with a bad key',
    request: get(PLAIN_ECHO_PATH, upgrade({ key: 'short' })),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'plain handshake, version 8',
    request: get(PLAIN_ECHO_PATH, upgrade({ version: '8' })),
    status: 426,
    code: 'ERR_UNSUPPORTED_VERSION',
  },
  {
    what: 'plain handshake by POST',
    request: post(PLAIN_ECHO_PATH, '', upgrade({})),
    status: 405,
    code: 'ERR_METHOD_NOT_ALLOWED',
  },
  {
    what: 'plain handshake with a malformed subprotocol list',
    request: get(PLAIN_ECHO_PATH, upgrade({}) + 'Sec-WebSocket-Protocol: a b, a\r\n'),
    status: 400,
    code: 'ERR_BAD_REQUEST',
  },
  {
    what: 'plain handshake from another origin',
    request: get(PLAIN_ECHO_PATH, upgrade({}) + 'Origin: http://evil.example\r\n'),
    status: 403,
    code: 'ERR_ORIGIN_REFUSED',
  },
  {
    what: 'upgrade to a path with no endpoint',
    request: get('/nowhere', upgrade({})),
    status: 404,
    code: 'ERR_BAD_REQUEST',
  },
];

describe('bad input gets its documented answer', () => {
  let started: StartedServer;
  let port: number;
  beforeAll(async () => {
    started = await startServer(
      { origins: ['localhost:*'], heartbeatIntervalMs: 0, reconnectWindowMs: 5_000 },
      installEchoes,
    );
    port = Number(new URL(started.baseUrl).port);
  });
  afterAll(() => started.close());

  it.each(CASES)('$what → $status $code', async ({ request, status, code }) => {
    const handshake = await rawRequest(port, Buffer.from(get(`/socket.io/xhr-polling//${Date.now()}`)), 2_000);
    const sessionId = handshake.body.toString().slice(-16);
    const answer = await rawRequest(port, Buffer.from(request.replace('{sessionId}', sessionId), 'latin1'), 2_000);
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body.toString('utf8'))).toEqual({ code, message: expect.any(String) as string });
  });

  it('overlapping polls: the newer wins, the older is answered at once with an empty 200', async () => {
    const handshake = await rawRequest(port, Buffer.from(get(`/socket.io/xhr-polling//${Date.now()}`)), 2_000);
    const sessionId = handshake.body.toString().slice(-16);
    const older = rawRequest(port, Buffer.from(get(`/socket.io/xhr-polling/${sessionId}/1`)), 3_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const newer = rawRequest(port, Buffer.from(get(`/socket.io/xhr-polling/${sessionId}/2`)), 3_000);
    const first = await older;
    expect(first.status).toBe(200);
    expect(first.body.length).toBe(0);
    started.server.getConn(sessionId)!.send('for the newer poll');
    expect((await newer).body.toString()).toBe(encodeFrame('for the newer poll'));
  });
});
