/**
 * The Flash socket policy (docs/protocol/socketio-0.6.md §5): inline on the HTTP port and on its
 * own port, next to ordinary HTTP; and the WebSocketMain.swf that web-socket-js loads.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, connect, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FlashPolicyService, flashPolicy, POLICY_REQUEST } from '../../src/http/flash-policy.js';
import { resolveOptions } from '../../src/options.js';
import { parseOrigins } from '../../src/http/origins.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';
import { waitFor } from '../helpers/wait-for.js';

let started: StartedServer | undefined;
afterEach(async () => {
  await started?.close();
  started = undefined;
});

/** Writes `bytes` (in pieces, if several) on a new connection and reads until the server ends it. */
function exchange(port: number, ...pieces: (string | Buffer)[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(3_000, () => socket.destroy(new Error('no answer within 3 s')));
    void (async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  });
}

const portOf = (baseUrl: string) => Number(new URL(baseUrl).port);

const DEFAULT_POLICY =
  '<?xml version="1.0"?>\n' +
  '<!DOCTYPE cross-domain-policy SYSTEM "http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd">\n' +
  '<cross-domain-policy>\n' +
  '<allow-access-from domain="*" to-ports="*"/>\n' +
  '</cross-domain-policy>\n\0';

describe('Flash socket policy', () => {
  it('answers inline on the HTTP port while ordinary HTTP on that port goes on unaffected', async () => {
    started = await startServer({ flashPolicyPort: false });
    const port = portOf(started.baseUrl);
    const results = await Promise.all([
      exchange(port, POLICY_REQUEST),
      fetch(`${started.baseUrl}/socket.io/xhr-polling//1`).then((res) => res.text()),
      exchange(port, '<policy-file-', 'request/>\0'),
      exchange(port, 'GET /socket.io/socket.io.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      fetch(`${started.baseUrl}/socket.io/jsonp-polling//1/0`).then((res) => res.text()),
    ]);
    expect(results[0]).toBe(DEFAULT_POLICY);
    expect(results[1]).toMatch(/^~m~16~m~/);
    expect(results[2]).toBe(DEFAULT_POLICY);
    expect(results[3]).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(results[3]).toContain('io.version');
    expect(results[4]).toMatch(/^io\.JSONP\[0\]\._\("~m~16~m~/);
  });

  it('answers on its own port, and the policy follows the origins option', async () => {
    started = await startServer({ flashPolicyPort: 0, origins: ['example.com:8080', '*:443'] });
    await waitFor(() => started?.server.flashPolicyPort !== undefined, { what: 'the policy port' });
    const policyPort = started.server.flashPolicyPort as number;
    expect(policyPort).not.toBe(portOf(started.baseUrl));
    const answer = await exchange(policyPort, POLICY_REQUEST);
    expect(answer).toBe(flashPolicy(parseOrigins(['example.com:8080', '*:443'])));
    expect(answer).toContain('<allow-access-from domain="example.com" to-ports="8080"/>\n');
    expect(answer).toContain('<allow-access-from domain="*" to-ports="443"/>\n');
    // Anything else on the policy port is closed without an answer.
    expect(await exchange(policyPort, 'GET / HTTP/1.1\r\n\r\n')).toBe('');
  });

  it('logs a clear line when the policy port cannot be opened, and still answers inline', async () => {
    const blocker: Server = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    try {
      started = await startServer({ flashPolicyPort: taken, logger: { level: 'warn', stream } });
      await waitFor(() => lines.some((line) => line.includes('flash policy port')), { what: 'the log line' });
      const line = JSON.parse(lines.find((l) => l.includes('flash policy port')) as string) as Record<string, unknown>;
      expect(line).toMatchObject({ port: taken, code: 'EADDRINUSE' });
      expect(line.msg).toMatch(/could not be opened .*answered inline/);
      expect(await exchange(portOf(started.baseUrl), POLICY_REQUEST)).toBe(DEFAULT_POLICY);
    } finally {
      blocker.close();
    }
  });

  it('survives errors of the policy listener once it listens (accept failures), and still closes it', async () => {
    started = await startServer({ flashPolicyPort: 0 });
    await waitFor(() => started?.server.flashPolicyPort !== undefined, { what: 'the policy port' });
    const policyPort = started.server.flashPolicyPort as number;
    // Node emits an accept failure (EMFILE, say) as an 'error' of the listening server.
    const service = (started.server as unknown as { flashPolicy: { listener: Server } }).flashPolicy;
    const listener = service.listener;
    const acceptError = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    listener.emit('error', acceptError);
    listener.emit('error', acceptError);
    expect(started.server.flashPolicyPort).toBe(policyPort);
    expect(await exchange(policyPort, POLICY_REQUEST)).toBe(DEFAULT_POLICY);
    await started.close();
    started = undefined;
    expect(listener.listening).toBe(false);
  });

  it('opens no policy port when closed before the HTTP server listens', async () => {
    const service = new FlashPolicyService(parseOrigins('*:*'), 0, () => undefined);
    const http = createHttpServer();
    service.install(http);
    await service.close();
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      expect(service.listeningPort).toBeUndefined();
      expect(http.listenerCount('clientError')).toBe(0);
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('is off with flashsocket: no policy inline, no policy port', async () => {
    started = await startServer({ transports: ['websocket', 'xhr-polling'], flashPolicyPort: 0 });
    expect(started.server.flashPolicyPort).toBeUndefined();
    const answer = await exchange(portOf(started.baseUrl), POLICY_REQUEST);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });

  it.each([70_000, -1, 1.5, Number.NaN])('refuses flashPolicyPort %s', (port) => {
    expect(() => resolveOptions({ flashPolicyPort: port })).toThrow(/flashPolicyPort/);
  });

  it('flashPolicyPort: false opens no listener', async () => {
    started = await startServer({ flashPolicyPort: false });
    expect(started.server.flashPolicyPort).toBeUndefined();
  });
});

describe('WebSocketMain.swf', () => {
  it.each(['/socket.io/WebSocketMain.swf', '/socket.io/lib/vendor/web-socket-js/WebSocketMain.swf'])(
    'is served at %s from the npm dependency',
    async (path) => {
      started = await startServer({ flashPolicyPort: false });
      const res = await fetch(started.baseUrl + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-shockwave-flash');
      const body = Buffer.from(await res.arrayBuffer());
      // A SWF starts with FWS (plain) or CWS (zlib) and states its own length.
      expect(['FWS', 'CWS']).toContain(body.subarray(0, 3).toString('latin1'));
      expect(body.length).toBeGreaterThan(1_000);
    },
  );
});
