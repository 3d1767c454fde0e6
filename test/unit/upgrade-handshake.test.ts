/**
 * The one handshake validation (http/upgrade.ts) with each family's rules, over real
 * IncomingMessage objects: the statuses the plain endpoint answers precisely, and the looser
 * ones of the 0.6 resource and sac-sock (what `ws` itself accepts).
 */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  checkHandshake,
  offeredSubprotocols,
  RFC6455_HANDSHAKE,
  validateDraftUpgrade,
  validateUpgrade,
  WS_HANDSHAKE,
} from '../../src/http/upgrade.js';

const VALID = {
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

function request(method: string, headers: Record<string, string | undefined>): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  for (const [name, value] of Object.entries({ ...VALID, ...headers })) {
    if (value !== undefined) req.headers[name] = value;
  }
  return req;
}

describe('checkHandshake', () => {
  it.each([
    ['POST', {}, 405, 'ERR_METHOD_NOT_ALLOWED', { Allow: 'GET' }],
    ['GET', { upgrade: 'h2c' }, 400, 'ERR_BAD_REQUEST', undefined],
    ['GET', { connection: 'keep-alive' }, 400, 'ERR_BAD_REQUEST', undefined],
    ['GET', { 'sec-websocket-version': '8' }, 426, 'ERR_UNSUPPORTED_VERSION', { 'Sec-WebSocket-Version': '13' }],
    ['GET', { 'sec-websocket-key': 'short' }, 400, 'ERR_BAD_REQUEST', undefined],
    ['GET', { 'sec-websocket-key': undefined }, 400, 'ERR_BAD_REQUEST', undefined],
  ])('plain endpoint rules: %s %j → %i %s', (method, headers, status, code, extra) => {
    const refusal = checkHandshake(request(method, headers), RFC6455_HANDSHAKE);
    expect(refusal?.error).toMatchObject({ code, httpStatus: status });
    expect(refusal?.headers).toEqual(extra);
  });

  it('plain endpoint rules: a valid handshake passes; Connection may list other tokens, in any case', () => {
    expect(checkHandshake(request('GET', {}), RFC6455_HANDSHAKE)).toBeNull();
    expect(checkHandshake(request('GET', { connection: 'keep-alive, UPGRADE' }), RFC6455_HANDSHAKE)).toBeNull();
  });

  it('checks the method first, then shutdown, then the headers', () => {
    expect(checkHandshake(request('PUT', { upgrade: 'h2c' }), RFC6455_HANDSHAKE, true)?.error.code).toBe(
      'ERR_METHOD_NOT_ALLOWED',
    );
    expect(checkHandshake(request('GET', { upgrade: 'h2c' }), RFC6455_HANDSHAKE, true)?.error.code).toBe(
      'ERR_SHUTTING_DOWN',
    );
    expect(
      checkHandshake(request('GET', { 'sec-websocket-version': '7', 'sec-websocket-key': 'x' }), RFC6455_HANDSHAKE)
        ?.error.code,
    ).toBe('ERR_UNSUPPORTED_VERSION');
  });

  it("ws's own rules (0.6 resource, sac-sock): versions 13 and 8, no Connection check, plain 400s", () => {
    expect(checkHandshake(request('GET', { 'sec-websocket-version': '8' }), WS_HANDSHAKE)).toBeNull();
    expect(checkHandshake(request('GET', { connection: 'keep-alive' }), WS_HANDSHAKE)).toBeNull();
    const version = checkHandshake(request('GET', { 'sec-websocket-version': '7' }), WS_HANDSHAKE);
    expect(version?.error).toMatchObject({ code: 'ERR_BAD_REQUEST', httpStatus: 400 });
    expect(version?.headers).toBeUndefined();
    expect(checkHandshake(request('POST', {}), WS_HANDSHAKE)?.headers).toBeUndefined();
    expect(validateUpgrade(request('GET', { 'sec-websocket-key': 'short' }))?.code).toBe('ERR_BAD_REQUEST');
    expect(validateUpgrade(request('GET', {}))).toBeNull();
  });

  it('the drafts need only a GET asking for the websocket upgrade', () => {
    const draft = { 'sec-websocket-version': undefined, 'sec-websocket-key': undefined };
    expect(validateDraftUpgrade(request('GET', draft))).toBeNull();
    expect(validateDraftUpgrade(request('POST', draft))?.code).toBe('ERR_METHOD_NOT_ALLOWED');
    expect(validateDraftUpgrade(request('GET', { ...draft, upgrade: 'WebSocket' }))).toBeNull();
    expect(validateDraftUpgrade(request('GET', { ...draft, upgrade: 'h2c' }))?.code).toBe('ERR_BAD_REQUEST');
  });
});

describe('offeredSubprotocols', () => {
  it.each([
    [undefined, []],
    ['chat', ['chat']],
    [' a ,b,, c ', ['a', 'b', 'c']],
  ])('%j → %j', (header, expected) => {
    expect(offeredSubprotocols(request('GET', { 'sec-websocket-protocol': header }))).toEqual(expected);
  });

  it.each(['a, b c', 'a, a', 'x/y'])('%j is malformed (400)', (header) => {
    expect(offeredSubprotocols(request('GET', { 'sec-websocket-protocol': header }))).toMatchObject({
      code: 'ERR_BAD_REQUEST',
    });
  });
});
