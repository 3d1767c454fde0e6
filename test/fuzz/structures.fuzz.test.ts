/**
 * Structure-aware fuzzing in process (fast): every frame kind of every codec — SIO `~m~`,
 * `~j~`, `~h~`, the streaming codec, sac-sock frames, plain-endpoint JSON messages, Redis
 * envelopes — built from JSON nested thousands of levels deep, huge numbers, long strings,
 * `__proto__` / `constructor` / `prototype` keys and lying lengths, fed to the decoders and,
 * through sessions on in-memory transports, to the server's real message and event handlers.
 * Nothing may throw, only documented codes may come back, what reaches a handler is plain
 * data that can be encoded again, and no built-in prototype changes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODECS, sacSock } from '../../src/codecs/index.js';
import { bytesExceedJsonDepth, DEFAULT_MAX_JSON_DEPTH } from '../../src/codecs/json-depth.js';
import type { CodecName, InboundMessage } from '../../src/codecs/types.js';
import { decodeMessage } from '../../src/endpoints/channels.js';
import { decodeEnvelope } from '../../src/adapters/redis/envelope.js';
import type { RealtimeError } from '../../src/errors.js';
import { Switchyard } from '../../src/server.js';
import type { Conn } from '../../src/session/conn.js';
import { FakeTransport } from '../helpers/fake-transport.js';
import {
  fuzzParameters,
  guardPrototypes,
  isPlainData,
  plainJsonMessage,
  redisEnvelope,
  sacSockFrame,
  sioPayload,
  streamingPayload,
} from '../helpers/fuzz.js';

/** What a decoder may answer instead of messages. */
const DECODE_CODES = ['ERR_MALFORMED_FRAME', 'ERR_TOO_LARGE', 'ERR_JSON_TOO_DEEP'];
const PAYLOADS: Record<CodecName, fc.Arbitrary<string>> = { sio: sioPayload, 'sio-streaming': streamingPayload };
const prototypes = guardPrototypes();
let inputs = 0;

/** Decoded values must be data, and encodable again (a value too deep for JSON.stringify is not). */
function expectReusable(value: unknown): void {
  expect(isPlainData(value)).toBe(true);
  expect(() => JSON.stringify(value)).not.toThrow();
}

function expectDecoded(messages: readonly InboundMessage[]): void {
  for (const message of messages) if (message.type === 'json') expectReusable(message.data);
}

describe.each(Object.values(CODECS))('codec $name on structured hostile input', (codec) => {
  it('decodes or refuses with a documented code; what it decodes is plain data', () => {
    const decoder = codec.createDecoder({ maxFrameLength: 1_000_000 });
    fc.assert(
      fc.property(PAYLOADS[codec.name], (payload) => {
        inputs++;
        const result = decoder.push(payload);
        if (result.ok) expectDecoded(result.value);
        else expect(DECODE_CODES).toContain(result.error.code);
        prototypes.check();
      }),
      fuzzParameters(1_500),
    );
  });
});

describe('sac-sock frames, plain JSON messages and Redis envelopes on structured hostile input', () => {
  it('sac-sock: a frame parses or drops; a JSON payload within maxJsonDepth can be read and encoded again', () => {
    fc.assert(
      fc.property(sacSockFrame, ({ data, isBinary }) => {
        inputs++;
        const parsed = sacSock.parseClientFrame(data, isBinary);
        if (parsed === null) return;
        const first = parsed.payload[0];
        if ((first === 0x5b || first === 0x7b) && !bytesExceedJsonDepth(parsed.payload, DEFAULT_MAX_JSON_DEPTH)) {
          // What an application handler would do with it: no depth past the bound gets here.
          let value: unknown;
          try {
            value = JSON.parse(parsed.payload.toString('utf8'));
          } catch {
            return;
          }
          expectReusable(value);
        }
        prototypes.check();
      }),
      fuzzParameters(1_000),
    );
  });

  it('plain json channel: decodes to plain data or refuses with a documented code', () => {
    fc.assert(
      fc.property(plainJsonMessage, ({ data, isBinary }) => {
        inputs++;
        const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        const result = decodeMessage('json', { type: isBinary ? 'binary' : 'text', fragments: [bytes] });
        if (result.ok) expectReusable(result.value);
        else expect(['ERR_JSON_TOO_DEEP', 'ERR_MALFORMED_FRAME', 'ERR_INVALID_UTF8']).toContain(result.error.code);
        prototypes.check();
      }),
      fuzzParameters(1_500),
    );
  });

  it('Redis envelopes: decoded to a plain message and target, or dropped as malformed or too deep', () => {
    fc.assert(
      fc.property(redisEnvelope, ({ kind, text }) => {
        inputs++;
        const result = decodeEnvelope(text, kind);
        if (!result.ok) {
          expect(['ERR_MALFORMED_FRAME', 'ERR_JSON_TOO_DEEP']).toContain(result.error.code);
          return;
        }
        const { message, target } = result.value;
        if (typeof message.value !== 'string' && !Buffer.isBuffer(message.value)) expectReusable(message.value);
        expect(() => message.jsonText()).not.toThrow();
        for (const room of target.rooms ?? []) expect(typeof room).toBe('string');
        expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
        prototypes.check();
      }),
      fuzzParameters(1_500),
    );
  });
});

/**
 * A server with no listener: sessions on in-memory transports, so each payload reaches the
 * real session, event dispatch and fan-out code without a socket. Its handlers record
 * anything that is not plain data and bounce every value through a room to the others.
 */
function sessionBench(codec: CodecName) {
  const server = new Switchyard({ codec, heartbeatIntervalMs: 0, flashPolicyPort: false });
  const violations: unknown[] = [];
  const errors: RealtimeError[] = [];
  const closes: string[] = [];
  server.on('error', (error) => errors.push(error as RealtimeError));
  server.onDisconnect((_conn, info) => closes.push(info.reason));
  server.onMessage((conn, data) => {
    if (typeof data !== 'string' && !isPlainData(data)) violations.push(data);
    server.to('room').except(conn).send(data);
  });
  server.onEvent('chat', (socket, data) => {
    if (!Buffer.isBuffer(data)) violations.push(data);
    socket.emit('chat', data.toString('utf8'));
  });
  const open = () => {
    const conn = server.registry.create('websocket', '127.0.0.1') as Conn;
    const transport = new FakeTransport(conn);
    conn.attach(transport);
    server.join(conn, 'room');
    return { conn, transport };
  };
  const conns = [open(), open(), open()];
  /** The sending session; a new one when the last said goodbye (the streaming codec's `0:0:,`). */
  const sender = () => {
    if (conns[0]!.conn.state === 'closed') conns[0] = open();
    return conns[0]!.conn;
  };
  return { server, violations, errors, closes, conns, sender };
}

describe.each(['sio', 'sio-streaming'] as const)('the 0.6 handlers behind the %s codec', (codec) => {
  let bench: ReturnType<typeof sessionBench>;
  beforeAll(() => {
    bench = sessionBench(codec);
  });
  afterAll(() => bench.server.close());

  it('hand plain data to message and event handlers; refusals carry a documented code; no session breaks', () => {
    fc.assert(
      fc.property(codec === 'sio' ? sioPayload : streamingPayload, (payload) => {
        inputs++;
        const refusal = bench.sender().receive(payload);
        if (refusal !== null) expect(DECODE_CODES).toContain(refusal.code);
        for (const error of bench.errors.splice(0)) expect(DECODE_CODES).toContain(error.code);
        expect(bench.violations).toEqual([]);
        // Only a client's own goodbye ends a session; the bystanders always stay.
        expect(bench.closes.every((reason) => reason === 'client')).toBe(true);
        expect(bench.conns.slice(1).every(({ conn }) => conn.state === 'open')).toBe(true);
        for (const { transport } of bench.conns) transport.payloads.length = 0;
        prototypes.check();
      }),
      fuzzParameters(1_500),
    );
  });
});

describe('the in-process share', () => {
  it('ran at least 9,000 inputs', () => {
    // The run counts above, unless SWITCHYARD_FUZZ_RUNS scales them down.
    const scale = Number(process.env.SWITCHYARD_FUZZ_RUNS ?? '1');
    expect(inputs).toBeGreaterThanOrEqual(Math.floor(9_500 * Math.min(1, scale)));
  });
});
