/**
 * The product as a new user meets it, from one fresh build: `npm pack` (whose `prepack`
 * builds dist/), the tarball installed into an empty project (only the package's declared
 * dependencies, from npm's cache or the registry) running an ESM echo and a strict
 * TypeScript build, and `npm start -- --port 0` answering /healthz, /readyz, /dashboard and
 * /metrics, refusing a second start on the same port in one line, and leaving no process
 * behind on SIGTERM.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyWsClient } from '../helpers/legacy-ws.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
/** Building and installing on two shared cores is slow; these bound it, they do not time it. */
const SLOW_MS = 300_000;

let work: string;
let tarball: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'switchyard-product-'));
  const { stdout } = await run('npm', ['pack', '--pack-destination', work, '--json'], {
    cwd: ROOT,
    maxBuffer: 1 << 24,
  });
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string }>;
  tarball = join(work, packed[0]!.filename);
}, SLOW_MS);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  let app: string;

  beforeAll(async () => {
    app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      maxBuffer: 1 << 24,
    });
  }, SLOW_MS);

  it('ships the built JavaScript, declarations, the CLI and the dashboard, and no TypeScript sources', () => {
    const pkg = join(app, 'node_modules/switchyard');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/redis.d.ts', 'dist/cli.js', 'www/index.html']) {
      expect(existsSync(join(pkg, file)), file).toBe(true);
    }
    expect(existsSync(join(pkg, 'assets/dashboard/dashboard.js'))).toBe(true);
    expect(existsSync(join(pkg, 'src'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/.bin/switchyard'))).toBe(true);
    // Only what runs: no compiler, test runner or TypeScript loader, and ioredis only on demand.
    const installed = readdirSync(join(app, 'node_modules'));
    for (const name of ['typescript', 'tsx', 'vitest', 'esbuild', 'ioredis']) expect(installed).not.toContain(name);
  });

  it('runs an echo from plain ESM JavaScript, and says in one line what switchyard/redis needs', async () => {
    writeFileSync(join(app, 'echo.mjs'), ECHO_JS);
    const { stdout } = await run(process.execPath, ['echo.mjs'], { cwd: app });
    expect(stdout.trim().split('\n')).toEqual([
      'echo: ~m~5~m~hello',
      'redis: ERR_MISSING_DEPENDENCY switchyard/redis needs the ioredis package: npm install ioredis',
    ]);
  });

  it(
    'compiles in a strict TypeScript project with skipLibCheck off, and runs',
    async () => {
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(STRICT_TSCONFIG));
      writeFileSync(join(app, 'main.ts'), STRICT_TS);
      const compiled = await run(process.execPath, [TSC, '-p', '.'], { cwd: app }).catch(
        (error: { stdout: string }) => error,
      );
      expect(compiled.stdout).toBe('');
      const { stdout } = await run(process.execPath, ['out/main.js'], { cwd: app });
      expect(stdout.trim()).toBe('typed: {"delivered":0,"refused":0}');
    },
    SLOW_MS,
  );
});

describe('npm start on the fresh build', () => {
  const children: ChildProcess[] = [];
  /** Every process these tests started, and theirs: none may outlive the file. */
  const started = new Set<number>();
  afterAll(() => {
    // A failed test may leave its server running: it and whatever it started go too.
    for (const child of children) {
      if (child.pid === undefined) continue;
      for (const pid of [child.pid, ...descendantsOf(child.pid)]) started.add(pid);
    }
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });

  /** `npm start -- …args`, or the built CLI itself when `direct`. */
  function start(args: string[], direct = false): { child: ChildProcess; out: string[]; err: string[] } {
    const [command, prefix] = direct ? [process.execPath, ['dist/cli.js']] : ['npm', ['start', '--silent', '--']];
    const child = spawn(command, [...prefix, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    closedOf.set(child, new Promise((resolve) => child.on('close', (code) => resolve(code))));
    return { child, out: linesOf(child.stdout!), err: linesOf(child.stderr!) };
  }

  /** Resolves with the exit code once the process has ended and its output is all read ('close'). */
  const closedOf = new WeakMap<ChildProcess, Promise<number | null>>();
  const exited = (child: ChildProcess): Promise<number | null> => closedOf.get(child)!;

  it(
    'prints the URL, answers health, readiness, the dashboard and metrics, refuses a second start, stops cleanly',
    async () => {
      const first = start(['--port', '0']);
      await waitFor(() => first.out.some((line) => line.startsWith('Switchyard listening on ')), {
        timeoutMs: 30_000,
        what: 'the listening line',
      });
      const url = first.out.find((line) => line.startsWith('Switchyard listening on '))!.slice(24);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await waitFor(() => first.out.includes(`Dashboard: ${url}/dashboard`), { what: 'the dashboard line' });
      for (const path of ['/healthz', '/readyz', '/dashboard'])
        expect((await fetch(url + path)).status, path).toBe(200);

      const client = await LegacyWsClient.connect(`${url.replace('http', 'ws')}/socket.io/websocket`);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^switchyard_sessions\{[^}]*transport="websocket"[^}]*\} 1$/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);

      const port = new URL(url).port;
      const second = start(['--port', port]);
      expect(await exited(second.child)).toBe(1);
      expect(second.err.filter((line) => line !== '')).toEqual([`switchyard: port ${port} is already in use`]);

      const descendants = descendantsOf(first.child.pid!);
      expect(descendants.length).toBeGreaterThan(0);
      first.child.kill('SIGTERM');
      client.close();
      // npm passes the signal on to the server, waits for it, then ends as the signal says.
      await exited(first.child);
      expect([0, null]).toContain(first.child.exitCode);
      await waitFor(() => descendants.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, what: 'no process left' });
    },
    SLOW_MS,
  );

  it(
    'drains on SIGTERM and exits 0',
    async () => {
      const server = start(['--port', '0'], true);
      await waitFor(() => server.out.some((line) => line.startsWith('Dashboard: ')), { timeoutMs: 30_000 });
      server.child.kill('SIGTERM');
      expect(await exited(server.child)).toBe(0);
      expect(server.out.some((line) => line.includes('"msg":"shutting down"'))).toBe(true);
    },
    SLOW_MS,
  );

  it(
    'prints one line and the usage for a bad flag (exit 2), and the help and version (exit 0)',
    async () => {
      const bad = start(['--no-such-flag']);
      expect(await exited(bad.child)).toBe(2);
      expect(bad.err[0]).toBe('switchyard: unknown option --no-such-flag');
      expect(bad.err).toContain('Usage: switchyard [options]');
      const help = start(['--help']);
      expect(await exited(help.child)).toBe(0);
      expect(help.out).toContain('Usage: switchyard [options]');
      const version = start(['--version']);
      expect(await exited(version.child)).toBe(0);
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      expect(version.out[0]).toBe(`switchyard ${pkg.version}`);
    },
    SLOW_MS,
  );
});

/** The complete lines a stream has written so far (a chunk may end mid-line). */
function linesOf(stream: NodeJS.ReadableStream): string[] {
  const lines: string[] = [];
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  stream.on('end', () => {
    if (partial !== '') lines.push(partial);
  });
  return lines;
}

/** Every process below `pid` now (children, their children…), read from /proc. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked: it is nobody's descendant any more.
      continue;
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
}

const ECHO_JS = `import { createServer } from 'switchyard';

const server = createServer({ flashPolicyPort: false });
server.onMessage((conn, data) => conn.send(data));
const base = await server.listen({ port: 0 });
const resource = base + '/socket.io/xhr-polling';
const handshake = await (await fetch(resource + '//1')).text();
const sessionId = /^~m~\\d+~m~(\\w+)/.exec(handshake)[1];
await fetch(resource + '/' + sessionId + '/send', {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: 'data=' + encodeURIComponent('~m~5~m~hello'),
});
console.log('echo: ' + (await (await fetch(resource + '/' + sessionId + '/2')).text()));
await server.close();
try {
  await import('switchyard/redis');
} catch (error) {
  console.log('redis: ' + error.code + ' ' + error.message);
}
`;

const STRICT_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022'],
    strict: true,
    skipLibCheck: false,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    outDir: 'out',
  },
  files: ['main.ts'],
};

const STRICT_TS = `import { createServer, type Switchyard } from 'switchyard';

interface ClientEvents { chat: string; message: { text: string } }
interface ServerEvents { chat: { text: string }; message: string }

const server: Switchyard<ClientEvents, ServerEvents> = createServer<ClientEvents, ServerEvents>({
  flashPolicyPort: false,
  metrics: true,
});
server.onEvent('chat', (socket, data) => server.to('lobby').except(socket).emit('chat', { text: data.toString() }));
server.onMessage((conn, data) => server.broadcastExcept(conn, data.text));
server.websocket<{ n: number }>('/plain', {}, async (conn) => {
  for await (const message of conn.messages) await conn.send({ n: message.n + 1 });
});
await server.listen({ port: 0 });
console.log('typed: ' + JSON.stringify(server.broadcastEvent('chat', { text: 'hi' })));
await server.close();
`;
