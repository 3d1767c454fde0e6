/**
 * The HAProxy configuration the cluster tests run is the example of docs/cluster.md, word
 * for word, and HAProxy itself accepts it (`haproxy -c`), with and without request logs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HAPROXY_BINARY, haproxyConfig, type HaproxyConfigInput } from '../helpers/haproxy.js';

/** The deployment the docs show: three nodes on a private network. */
const DOCS_EXAMPLE: HaproxyConfigInput = {
  bind: ':80',
  statsSocket: '/run/haproxy/admin.sock',
  servers: [1, 2, 3].map((n) => ({ name: `node${n}`, address: `10.0.0.${10 + n}:8080` })),
};

const dir = mkdtempSync(join(tmpdir(), 'switchyard-haproxy-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `haproxy -c` on `config`; returns its output (throws when HAProxy rejects it). */
function check(config: string): string {
  const path = join(dir, 'haproxy.cfg');
  writeFileSync(path, config);
  return execFileSync(HAPROXY_BINARY, ['-c', '-f', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the HAProxy configuration', () => {
  it('is the example of docs/cluster.md, word for word', () => {
    const docs = readFileSync(new URL('../../docs/cluster.md', import.meta.url), 'utf8');
    expect(docs).toContain('```haproxy\n' + haproxyConfig(DOCS_EXAMPLE) + '```');
  });

  it.each([false, true])('is accepted by haproxy -c (request logs: %s)', (debug) => {
    const config = haproxyConfig({
      ...DOCS_EXAMPLE,
      bind: '127.0.0.1:8080',
      statsSocket: join(dir, 'admin.sock'),
      debug,
    });
    expect(check(config)).toContain('Configuration file is valid');
  });

  it('balances per request: round-robin, no stickiness, server side closed after each response', () => {
    const directives = haproxyConfig(DOCS_EXAMPLE)
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter((line) => line !== '');
    expect(directives).toEqual(expect.arrayContaining(['balance roundrobin', 'option http-server-close']));
    expect(directives).toContain('no option prefer-last-server');
    expect(directives.filter((line) => /^(cookie|stick|hash-type|balance (source|uri|hdr))/.test(line))).toEqual([]);
    expect(directives.filter((line) => line.startsWith('http-reuse'))).toEqual([]);
  });
});
