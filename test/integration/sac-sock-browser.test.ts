/**
 * A browser's own WebSocket against the sac-sock endpoint, driven by a minimal client written from
 * docs/protocol/sac-sock.md §2–§3 (subprotocol `sac-sock`, `binaryType = 'arraybuffer'`, frames
 * built and split as the browser client does). Chromium aborts the handshake when the offered
 * subprotocol is not echoed, so this also pins the negotiation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startServer, type StartedServer } from '../helpers/start-server.js';

describe('sac-sock in Chromium', () => {
  let browser: Browser;
  let started: StartedServer;
  beforeAll(async () => {
    browser = await launchChromium();
    started = await startServer({ heartbeatIntervalMs: 0 }, (server) => {
      server.app?.get('/blank', (_request, reply) => reply.type('text/html').send('<!doctype html><title>t</title>'));
      server.onSocketConnect((socket) => void socket.emit('hello', { protocol: socket.protocol }));
      server.onEvent('echo', (socket, data) => void socket.emit('echo', data.toString('utf8')));
      server.onEvent('bin', (socket, data) => void socket.emit('bin', data));
      server.onEvent('join', (socket, data) => {
        socket.join(data.toString());
        server.roomcast(data.toString(), 'news', { room: data.toString() });
      });
    });
  });
  afterAll(async () => {
    await browser?.close();
    await started?.close();
  });

  it('negotiates sac-sock and round-trips text, binary and JSON', async () => {
    const page = await browser.newPage();
    await page.goto(`${started.baseUrl}/blank`);
    const result = await page.evaluate(async (url) => {
      const seen: Array<[string, unknown]> = [];
      const ws = new WebSocket(url, 'sac-sock');
      ws.binaryType = 'arraybuffer';
      // docs/protocol/sac-sock.md §2.2: name 0x02 data; ArrayBuffers go binary with the name one
      // byte per unit.
      const emit = (name: string, data: unknown) => {
        if (data instanceof ArrayBuffer) {
          const bytes = new Uint8Array(name.length + 1 + data.byteLength);
          for (let i = 0; i < name.length; i++) bytes[i] = name.charCodeAt(i) & 0xff;
          bytes[name.length] = 2;
          bytes.set(new Uint8Array(data), name.length + 1);
          ws.send(bytes.buffer);
        } else {
          ws.send(name + '\x02' + (typeof data === 'object' ? JSON.stringify(data) : String(data)));
        }
      };
      // docs/protocol/sac-sock.md §2.4: name up to 0x01, header flags up to 0x02, then the data
      // (J → JSON.parse).
      const parse = (frame: string | ArrayBuffer): [string, unknown] => {
        if (typeof frame === 'string') {
          const soh = frame.indexOf('\x01');
          const stx = frame.indexOf('\x02', soh);
          const flags = frame.slice(soh + 1, stx);
          const data = frame.slice(stx + 1);
          return [frame.slice(0, soh), flags.includes('J') ? JSON.parse(data) : data];
        }
        const bytes = new Uint8Array(frame);
        const soh = bytes.indexOf(1);
        const stx = bytes.indexOf(2, soh);
        const name = String.fromCharCode(...bytes.subarray(0, soh));
        return [name, Array.from(bytes.subarray(stx + 1))];
      };
      await new Promise<void>((resolve, reject) => {
        ws.onerror = () => reject(new Error('websocket failed'));
        ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
          seen.push(parse(event.data));
          if (seen.length === 5) resolve();
        };
        ws.onopen = () => {
          emit('echo', 'hé\x01llo');
          emit('bin', new Uint8Array([0, 2, 255]).buffer);
          emit('join', 'lobby');
          emit('unknown', 1);
          emit('echo', 'last');
        };
        setTimeout(() => reject(new Error(`timed out with ${JSON.stringify(seen)}`)), 5_000);
      });
      const protocol = ws.protocol;
      ws.close(1000);
      return { protocol, seen };
    }, `${started.wsUrl}/socket`);
    expect(result.protocol).toBe('sac-sock');
    expect(result.seen).toEqual([
      ['hello', { protocol: 'sac-sock' }],
      ['echo', 'hé\x01llo'],
      ['bin', [0, 2, 255]],
      ['news', { room: 'lobby' }],
      ['echo', 'last'],
    ]);
    await page.close();
  });
});
