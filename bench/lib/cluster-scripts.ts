/**
 * Scenario F: every script in bench/cluster/ (each measures a cluster setup on its own: Redis
 * cost, cross-node long-poll echo…) as a child process, one after another. A script prints
 * one JSON line (`{"scenario":…}` or `{"type":…}`) and a markdown table; the report gets each
 * script's table, or its JSON line when it printed none, or why it could not run.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './child.js';

/** How long one script may take (it starts redis-server, nodes, HAProxy, and measures each setup). */
const SCRIPT_TIMEOUT_MS = 10 * 60_000;

export interface ClusterResult {
  readonly script: string;
  readonly tables: readonly string[];
  readonly json: readonly string[];
  readonly failure?: string;
  readonly seconds: number;
}

export async function runClusterScripts(log: (line: string) => void): Promise<ClusterResult[]> {
  const dir = join(BENCH_DIR, 'cluster');
  const scripts = readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .sort();
  const results: ClusterResult[] = [];
  for (const script of scripts) {
    log(`  cluster/${script}`);
    results.push(await runScript(join(dir, script), script));
  }
  return results;
}

function runScript(path: string, script: string): Promise<ClusterResult> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    // From the repository root: the scripts use the test helpers (redis-server, HAProxy).
    const child = spawn(process.execPath, ['--import', 'tsx', path], {
      cwd: join(BENCH_DIR, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), SCRIPT_TIMEOUT_MS);
    const finish = (failure: string | undefined) => {
      clearTimeout(timer);
      resolve({ script, ...parseOutput(output), failure, seconds: (Date.now() - startedAt) / 1000 });
    };
    child.once('error', (error) => finish(error.message));
    child.once('exit', (code, signal) => {
      if (signal !== null)
        finish(`stopped by ${signal}${signal === 'SIGKILL' ? ` after ${SCRIPT_TIMEOUT_MS} ms` : ''}`);
      else finish(code === 0 ? undefined : `exited with code ${code}`);
    });
  });
}

/** The markdown tables (runs of lines starting with `|`) and the JSON lines of a script's output. */
function parseOutput(output: string): { tables: string[]; json: string[] } {
  const tables: string[] = [];
  const json: string[] = [];
  let table: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('|')) {
      table.push(line);
      continue;
    }
    if (table.length > 0) tables.push(table.join('\n'));
    table = [];
    if (line.startsWith('{"scenario":') || line.startsWith('{"type":')) json.push(line);
  }
  if (table.length > 0) tables.push(table.join('\n'));
  return { tables, json };
}

/** The report's section for scenario F. */
export function renderCluster(results: readonly ClusterResult[]): string[] {
  const lines = ['### Cluster (F): bench/cluster/*.ts', ''];
  for (const result of results) {
    lines.push(`#### ${result.script} (${Math.round(result.seconds)} s)`, '');
    if (result.failure !== undefined) lines.push(`Could not run: ${result.failure}.`, '');
    for (const table of result.tables) lines.push(table, '');
    if (result.tables.length === 0) for (const json of result.json) lines.push('```json', json, '```', '');
  }
  return lines;
}
