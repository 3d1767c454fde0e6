/**
 * Fuzzing of the request surface against a live server: random methods, paths (from the
 * route table plus random segments), headers, bodies, declared lengths, websocket upgrades
 * and plain random bytes, sent raw over TCP. For every request: an answer within a bounded
 * time, a status from the documented set, a JSON `{code, message}` body on every refusal;
 * no crash and no unhandled rejection; afterwards every well-behaved client still works and
 * the registry drains to zero. Reproduce a failure with SWITCHYARD_FUZZ_SEED.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codecs/sio.js';
import { ERROR_CODES } from '../../src/errors.js';
import { fuzzParameters } from '../helpers/fuzz.js';
import { rawRequest, type RawAnswer } from '../helpers/raw-http.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { DOCUMENTED_STATUSES, SURFACE_ROUTES } from '../helpers/surface-routes.js';
import { waitFor } from '../helpers/wait-for.js';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { expectAllClientsWork, installEchoes, PLAIN_ECHO_PATH } from '../helpers/well-behaved.js';
import { PlainClient } from '../helpers/plain-ws.js';
import { SacSockTestClient } from '../helpers/sac-sock-client.js';
import { watchProcessFailures } from '../helpers/process-failures.js';

const ALLOWED_ORIGIN = 'http://localhost:3000';
const LIMITS = {
  origins: ['localhost:*', '127.0.0.1:*'],
  pollDurationMs: 300,
  reconnectWindowMs: 800,
  heartbeatIntervalMs: 0,
  maxPayloadBytes: 4096,
  maxFrameLength: 1000,
  maxHeaderBytes: 4096,
  headersTimeoutMs: 400,
  requestTimeoutMs: 600,
  sacSockMaxMessageBytes: 2_048,
} as const;
/** The default `maxMessageBytes` of the plain echo endpoint. */
const PLAIN_MAX_MESSAGE_BYTES = 1_048_576;
/** Longest legitimate wait: a held poll, or a body that never comes (request timeout + check interval). */
const ANSWER_BOUND_MS = 2_500;
/** Close codes of the Errors table a websocket message can earn. */
const WS_CLOSE_CODES = [1003, 1007, 1009];

interface FuzzRequest {
  readonly method: string;
  readonly template: string;
  readonly segments: readonly string[];
  readonly query: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
  readonly length: 'exact' | 'none' | 'short' | 'long' | 'huge' | 'garbage' | 'chunked';
}

const segment = fc.oneof(
  fc.stringMatching(/^[0-9A-Za-z]{16}$/),
  fc.constantFrom('', '..', '.', '%00', '%zz', '%E2%82', '%2F', 'send', '123', '999999999', 'websocket', '😀'),
  fc.webSegment(),
  fc.string({ maxLength: 12 }),
);

const headerPair = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.constantFrom<readonly [string, string]>(
      ['Origin', ALLOWED_ORIGIN],
      ['Origin', 'http://evil.example'],
      ['Origin', 'null'],
      ['Origin', 'not a url'],
      ['Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8'],
      ['Content-Type', 'text/plain'],
      ['Content-Type', 'application/json'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Key', 'short'],
      ['Access-Control-Request-Method', 'POST'],
      ['Cookie', 'socketio=websocket'],
      ['Expect', '100-continue'],
      ['X-Big', 'x'.repeat(5_000)],
    ),
  },
  { weight: 4, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), fc.string({ maxLength: 20 })) },
  // Junk names or values make the whole request a parser refusal: keep them rare.
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })) },
);

const formBody = fc
  .oneof(fc.string({ unit: 'binary', maxLength: 40 }).map(encodeFrame), fc.string({ maxLength: 40 }))
  .map((payload) => 'data=' + encodeURIComponent(payload));

const body = fc.oneof(
  { weight: 4, arbitrary: fc.constant(new Uint8Array()) },
  { weight: 6, arbitrary: formBody.map((text) => new Uint8Array(Buffer.from(text))) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('data=%zz', 'data=%C3', 'other=1', 'data').map((t) => new Uint8Array(Buffer.from(t))),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3d, 0xc3, 0x28, 0xff])) },
  { weight: 3, arbitrary: fc.constant(new Uint8Array(Buffer.from('data=' + 'a'.repeat(5_000)))) },
);

const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('GET', 'POST') },
    { weight: 4, arbitrary: fc.constantFrom('OPTIONS', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'TRACE') },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  ),
  // Routes that reach a live session are where the state is: ask for them more often.
  template: fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...SURFACE_ROUTES) },
    { weight: 1, arbitrary: fc.constantFrom(...SURFACE_ROUTES.filter((route) => route.includes('{sessionId}'))) },
  ),
  segments: fc.array(segment, { maxLength: 3 }),
  query: fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 12 }).map((q) => '?' + q),
  ),
  headers: fc.array(headerPair, { maxLength: 4 }),
  body,
  length: fc.oneof(
    { weight: 20, arbitrary: fc.constant('exact' as const) },
    { weight: 3, arbitrary: fc.constantFrom('none' as const, 'short' as const, 'huge' as const, 'garbage' as const) },
    { weight: 1, arbitrary: fc.constantFrom('long' as const, 'chunked' as const) },
  ),
});

function lengthHeader(request: FuzzRequest): string {
  const size = request.body.length;
  switch (request.length) {
    case 'exact':
      return `Content-Length: ${size}\r\n`;
    case 'none':
      return '';
    case 'short':
      return `Content-Length: ${Math.max(0, size - 3)}\r\n`;
    case 'long':
      return `Content-Length: ${size + 10}\r\n`;
    case 'huge':
      return 'Content-Length: 99999999999\r\n';
    case 'garbage':
      return 'Content-Length: 12abc\r\n';
    case 'chunked':
      return 'Transfer-Encoding: chunked\r\n';
  }
}

function render(request: FuzzRequest, sessionId: string): Buffer {
  let path = request.template.replace('{sessionId}', sessionId).replace('{ts}', String(Date.now()));
  for (const piece of request.segments) path = path.replace('{segment}', piece);
  path = path.replaceAll('{segment}', 'x');
  if (request.segments.length > 0 && request.template.endsWith('}')) path += '/' + request.segments.join('/');
  const headers = request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const head = `${request.method} ${path}${request.query} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}${lengthHeader(request)}\r\n`;
  return Buffer.concat([Buffer.from(head), request.body]);
}

function expectDocumentedAnswer(answer: RawAnswer, method: string, origin?: string): void {
  expect(answer.elapsedMs).toBeLessThan(ANSWER_BOUND_MS);
  // CORS: only an allowed Origin is reflected, never `*`, and never a refused one.
  const allowOrigin = answer.headers['access-control-allow-origin'];
  if (allowOrigin !== undefined) {
    expect(allowOrigin).toBe(origin);
    expect(origin).toBe(ALLOWED_ORIGIN);
  }
  expect(DOCUMENTED_STATUSES, `status ${answer.status}`).toContain(answer.status);
  if (answer.status < 400 || method === 'HEAD' || answer.body.length === 0) {
    // Only refusals carry {code, message}; HEAD answers have no body by definition.
    if (answer.status >= 400 && method !== 'HEAD') expect.fail(`refusal ${answer.status} without a JSON body`);
    return;
  }
  const parsed = JSON.parse(answer.body.toString('utf8')) as { code: string; message: string };
  expect(Object.keys(ERROR_CODES)).toContain(parsed.code);
  expect(typeof parsed.message).toBe('string');
}

describe('request surface under fuzzing (live server)', () => {
  let started: StartedServer;
  let port: number;
  let failures: ReturnType<typeof watchProcessFailures>;
  let sessionId = '';
  const seen = new Map<number, number>();

  /** A live session for `{sessionId}`; a new one when the last has expired or was superseded. */
  async function liveSessionId(): Promise<string> {
    if (sessionId !== '' && started.server.getConn(sessionId)?.isOpen === true) return sessionId;
    const handshake = await (await fetch(`${started.baseUrl}/socket.io/xhr-polling//${Date.now()}`)).text();
    sessionId = handshake.slice(-16);
    return sessionId;
  }

  beforeAll(async () => {
    failures = watchProcessFailures();
    started = await startServer(LIMITS, (server) => {
      installEchoes(server);
      server.on('error', () => undefined);
    });
    port = Number(new URL(started.baseUrl).port);
  });

  afterAll(async () => {
    await started.close();
    failures.stop();
  });

  it('answers every random request in time, with a documented status and body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fuzzRequest, { minLength: 1, maxLength: 4 }), async (batch) => {
        const id = await liveSessionId();
        const answers = await Promise.all(batch.map((r) => rawRequest(port, render(r, id), ANSWER_BOUND_MS + 500)));
        answers.forEach((answer, i) => {
          const origin = batch[i]!.headers.find(([name]) => name.toLowerCase() === 'origin')?.[1]; // Node keeps the first
          expectDocumentedAnswer(answer, batch[i]!.method, origin);
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        });
      }),
      fuzzParameters(250),
    );
    // The generator must reach the interesting answers, or the property proves little.
    if (process.env.SWITCHYARD_FUZZ_DEBUG !== undefined)
      process.stderr.write(`statuses ${JSON.stringify(Object.fromEntries(seen))}\n`);
    for (const status of [200, 400, 404, 405, 413])
      expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
  });

  it('answers random bytes that are not HTTP at all with 400 (or 408 while it waits for a head)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        // End with a blank line so the parser has a whole head to refuse rather than wait for.
        const answer = await rawRequest(port, Buffer.concat([bytes, Buffer.from('\r\n\r\n')]), ANSWER_BOUND_MS);
        expectDocumentedAnswer(answer, 'GET');
        // Leading blank lines are legal before a request line: the parser then waits for one.
        expect([400, 408]).toContain(answer.status);
      }),
      fuzzParameters(60),
    );
  });

  it('answers random websocket messages with an echo or a documented close code', async () => {
    const wsMessage = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ data: text as string | Buffer, binary: false })),
      fc
        .array(fc.string({ maxLength: 10 }).map(encodeFrame), { maxLength: 4 })
        .map((f) => ({ data: f.join(''), binary: false })),
      fc
        .tuple(fc.uint8Array({ maxLength: 40 }), fc.boolean())
        .map(([bytes, binary]) => ({ data: Buffer.from(bytes), binary })),
      fc.constant({ data: Buffer.from([0x7e, 0x6d, 0x7e, 0x31, 0x7e, 0x6d, 0x7e, 0xc3]), binary: false }),
      fc.constant({ data: encodeFrame('x'.repeat(1_001)), binary: false }),
      fc.constant({ data: 'x'.repeat(5_000), binary: false }),
    );
    await fc.assert(
      fc.asyncProperty(wsMessage, async ({ data, binary }) => {
        const client = await LegacyWsClient.connect(`${started.wsUrl}/socket.io/websocket`);
        try {
          client.ws.send(data, { binary });
          client.send(encodeFrame('probe'));
          await waitFor(
            () =>
              client.closeCode !== undefined || client.messages.some((m) => m.type === 'text' && m.data === 'probe'),
            { timeoutMs: ANSWER_BOUND_MS, what: 'an echo or a close' },
          );
          if (client.closeCode !== undefined) expect(WS_CLOSE_CODES).toContain(client.closeCode);
        } finally {
          client.ws.terminate();
        }
      }),
      fuzzParameters(80),
    );
  });

  it('answers random sac-sock frames by dropping or dispatching them, or closing with 1007 / 1009', async () => {
    // Names and payloads around the two control bytes, either opcode, some over the limit.
    const part = fc.oneof(
      fc.constantFrom('\x01', '\x02', 'echo', 'e', '', 'J', 'S', 'B', '😀', '\udc00'),
      fc.string({ unit: 'binary', maxLength: 8 }),
    );
    const frame = fc.oneof(
      { weight: 6, arbitrary: fc.array(part, { maxLength: 8 }).map((p) => Buffer.from(p.join(''), 'utf8')) },
      { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
      { weight: 1, arbitrary: fc.constant(Buffer.from('echo\x02' + 'x'.repeat(LIMITS.sacSockMaxMessageBytes))) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(frame, fc.boolean()), { minLength: 1, maxLength: 4 }), async (frames) => {
        const client = await SacSockTestClient.connect(`${started.wsUrl}/socket`);
        try {
          for (const [data, isBinary] of frames) client.sendRaw(data, isBinary);
          client.emit('echo', 'probe');
          await waitFor(
            () =>
              client.closeCode !== undefined ||
              client.frames.some((f) => f.data.toString('utf8') === 'echo\x01S\x02probe'),
            { timeoutMs: ANSWER_BOUND_MS, what: 'the probe echo or a close' },
          );
          // Only an oversize frame (1009) or a text frame that is not UTF-8 (1007, checked by
          // ws) may end the connection; everything else is dropped or dispatched.
          if (client.closeCode === 1009) {
            expect(frames.some(([data]) => data.length > LIMITS.sacSockMaxMessageBytes)).toBe(true);
          } else if (client.closeCode !== undefined) {
            expect(client.closeCode).toBe(1007);
            expect(frames.some(([data, isBinary]) => !isBinary && !isUtf8(data))).toBe(true);
          }
        } finally {
          client.ws.terminate();
        }
      }),
      fuzzParameters(60),
    );
  });

  it('answers random plain-endpoint messages with an echo or close 1007 / 1009', async () => {
    const message = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }).map((text) => ({ data: text as string | Buffer, binary: false })),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ data: Buffer.from(bytes), binary: true })),
      fc.constant({ data: Buffer.from([0x61, 0xc3, 0x28]), binary: true }),
      fc.constant({ data: 'x'.repeat(PLAIN_MAX_MESSAGE_BYTES + 1), binary: false }),
    );
    await fc.assert(
      fc.asyncProperty(message, async ({ data, binary }) => {
        const client = await PlainClient.connect(`${started.wsUrl}${PLAIN_ECHO_PATH}`);
        try {
          client.ws.send(data, { binary });
          client.ws.send('probe');
          await waitFor(() => client.closeCode !== undefined || client.texts().includes('probe'), {
            timeoutMs: ANSWER_BOUND_MS,
            what: 'the probe echo or a close',
          });
          if (client.closeCode !== undefined) expect([1007, 1009]).toContain(client.closeCode);
          else if (!binary) expect(client.texts()[0]).toBe(data);
        } finally {
          client.ws.terminate();
        }
      }),
      fuzzParameters(60),
    );
  });

  it('still serves every well-behaved client, drains its registry and saw no process failure', async () => {
    await expectAllClientsWork(started.baseUrl);
    sessionId = '';
    await waitFor(() => started.server.budget.total === 0, {
      timeoutMs: 5_000,
      what: 'every fuzzed session and socket to end',
    });
    expect(started.server.sacSock?.size).toBe(0);
    expect(failures.list()).toEqual([]);
  });
});
