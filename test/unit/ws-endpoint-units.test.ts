import { describe, expect, it } from 'vitest';
import { decodeMessage, encodePrepared, encodeValue, formatKey } from '../../src/endpoints/channels.js';
import { isSendableCloseCode, messageTypeName, Status } from '../../src/endpoints/errors.js';
import { ENDPOINT_DEFAULTS, resolveEndpointOptions } from '../../src/endpoints/options.js';
import { compileOriginCheck, originPatternFor } from '../../src/endpoints/origin-pattern.js';
import { PreparedMessage } from '../../src/hub/prepared.js';
import { createServer } from '../../src/server.js';

describe('origin patterns', () => {
  it.each([
    ['https?://{{host}}', 'my.site.com', 'http://my.site.com', true],
    ['https?://{{host}}', 'my.site.com', 'https://my.site.com', true],
    // The Go middleware substituted the host unescaped: "." matched any character.
    ['https?://{{host}}', 'my.site.com', 'http://myxsite.com', false],
    // ...and had no start anchor.
    ['https?://{{host}}', 'my.site.com', 'http://evil.com/http://my.site.com', false],
    ['https?://{{host}}', 'my.site.com', 'http://my.site.com.evil.com', false],
    ['https?://{{host}}', 'my.site.com:8080', 'http://my.site.com:8080', true],
    ['https?://{{host}}', 'my.site.com:8080', 'http://my.site.com:8081', false],
    ['https://(www\\.)?{{ host }}', 'a.b', 'https://www.a.b', true],
    ['https://.*\\.example\\.com', 'ignored', 'https://x.example.com', true],
  ])('%s with host %s: %s → %s', async (pattern, host, origin, expected) => {
    expect(originPatternFor(pattern, host).test(origin)).toBe(expected);
    expect(await compileOriginCheck(pattern, true)(origin, host)).toBe(expected);
  });

  it('missing Origin follows allowMissingOrigin; RegExp and function forms work; bad pattern fails at start-up', async () => {
    expect(await compileOriginCheck('x', true)(undefined, 'h')).toBe(true);
    expect(await compileOriginCheck('x', false)(undefined, 'h')).toBe(false);
    const global = /^https:\/\/a$/g;
    const check = compileOriginCheck(global, false);
    expect(await check('https://a', 'h')).toBe(true);
    expect(await check('https://a', 'h')).toBe(true); // no lastIndex carried over
    expect(await compileOriginCheck(async (o, h) => o === `http://${h}`, false)('http://h', 'h')).toBe(true);
    expect(() => compileOriginCheck('https://(', true)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });
});

describe('endpoint options', () => {
  it('has working defaults and keeps 0 as a real value', () => {
    const resolved = resolveEndpointOptions({});
    const { allowMissingOrigin, ...rest } = ENDPOINT_DEFAULTS;
    expect(allowMissingOrigin).toBe(true);
    expect(resolved).toMatchObject({ ...rest, accept: undefined });
    const zeros = resolveEndpointOptions({
      pingIntervalMs: 0,
      idleTimeoutMs: 0,
      writeTimeoutMs: 0,
      maxMessageBytes: 0,
      sendBuffer: 0,
    });
    expect(zeros).toMatchObject({
      pingIntervalMs: 0,
      idleTimeoutMs: 0,
      writeTimeoutMs: 0,
      maxMessageBytes: 0,
      sendBuffer: 0,
    });
  });

  it.each([
    [{ pingIntervalMs: 1000, idleTimeoutMs: 1000 }, /shorter than idleTimeoutMs/],
    [{ pingIntervalMs: 2000, idleTimeoutMs: 1000 }, /shorter than idleTimeoutMs/],
    [{ recvBuffer: 0 }, /recvBuffer/],
    [{ sendBuffer: -1 }, /sendBuffer/],
    [{ writeTimeoutMs: 1.5 }, /writeTimeoutMs/],
    [{ mode: 'xml' as never }, /mode/],
    [{ onInvalidMessage: 'ignore' as never }, /onInvalidMessage/],
    [{ serverName: 'a\r\nX-Evil: 1' }, /serverName/],
  ])('%j is a start-up error', (options, message) => {
    expect(() => resolveEndpointOptions(options)).toThrow(message);
    expect(() => createServer().websocket('/ws', options, () => undefined)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION' }),
    );
  });

  it('a path must start with /', () => {
    expect(() => createServer().websocket('ws', {}, () => undefined)).toThrow(/starts with \//);
  });
});

describe('channels', () => {
  const text = (s: string) => ({ type: 'text' as const, fragments: [Buffer.from(s)] });
  const binary = (...parts: number[][]) => ({ type: 'binary' as const, fragments: parts.map((p) => Buffer.from(p)) });

  it('decodes per mode', () => {
    expect(decodeMessage('json', text('{"a":[1]}'))).toEqual({ ok: true, value: { a: [1] } });
    expect(decodeMessage('json', binary([0x31, 0x32]))).toEqual({ ok: true, value: 12 });
    expect(decodeMessage('text', binary([0xc3], [0xbc]))).toEqual({ ok: true, value: 'ü' });
    const bytes = decodeMessage('binary', binary([1], [2, 3]));
    expect(bytes.ok && [...(bytes.value as Uint8Array)]).toEqual([1, 2, 3]);
    expect(decodeMessage('binary', text('ab'))).toMatchObject({ ok: true });
  });

  it('reports undecodable input with a code', () => {
    expect(decodeMessage('json', text('{'))).toMatchObject({ ok: false, error: { code: 'ERR_MALFORMED_FRAME' } });
    expect(decodeMessage('text', binary([0xff]))).toMatchObject({ ok: false, error: { code: 'ERR_INVALID_UTF8' } });
    const failing = decodeMessage('json', text('1'), () => {
      throw new Error('nope');
    });
    expect(failing).toMatchObject({ ok: false, error: { code: 'ERR_MALFORMED_FRAME', message: /nope/ } });
  });

  it('encodes per mode (json text frames without a trailing newline)', () => {
    expect(encodeValue('json', { a: 1 })).toEqual({ data: '{"a":1}', binary: false });
    expect(encodeValue('json', undefined)).toEqual({ data: 'null', binary: false });
    expect(encodeValue('text', 'x')).toEqual({ data: 'x', binary: false });
    expect(encodeValue('binary', new Uint8Array([1, 2]))).toEqual({ data: Buffer.from([1, 2]), binary: true });
    expect(encodeValue('binary', 'ü')).toEqual({ data: Buffer.from('ü'), binary: true });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeValue('json', cyclic)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MESSAGE' }));
  });

  it('encodes a prepared message once per mode', () => {
    const message = new PreparedMessage({ a: 1 });
    const first = encodePrepared('json', message);
    expect(encodePrepared('json', message)).toBe(first);
    expect(message.encoded(formatKey('json'), () => 'other')).toBe(first);
    expect(encodePrepared('binary', message)).toEqual({ data: Buffer.from('{"a":1}'), binary: true });
  });
});

describe('close codes and names', () => {
  it.each([
    [1000, true],
    [1003, true],
    [1004, false],
    [1005, true],
    [1006, false],
    [1007, true],
    [1010, true],
    [1011, true],
    [1012, false],
    [2999, false],
    [3000, true],
    [4999, true],
    [5000, false],
    [1000.5, false],
  ])('%d sendable: %s', (code, expected) => {
    expect(isSendableCloseCode(code)).toBe(expected);
  });

  it('names opcodes and statuses like seehuhn', () => {
    expect([0, 1, 2, 8, 9, 10, 7].map(messageTypeName)).toEqual([
      'continuation',
      'text',
      'binary',
      'close',
      'ping',
      'pong',
      'MessageType(7)',
    ]);
    expect(Status).toMatchObject({ OK: 1000, NotSent: 1005, Dropped: 1006, TooLarge: 1009, InternalServerError: 1011 });
  });
});
