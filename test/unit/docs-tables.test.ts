/**
 * The docs' tables are contracts clients and operators read. docs/errors.md must list every
 * code of `src/errors.ts` with its HTTP status and close code, and nothing else; docs/options.md
 * must list every option of the server, the HTTP limits, plain endpoints and RedisAdapter, and
 * nothing else. The option interfaces are read from the source (found by name anywhere under
 * src/), so a new option without its row fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ERROR_CODE_ALIASES, ERROR_CODES } from '../../src/errors.js';

const readDoc = (name: string): string => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

/** The text under `## heading`, up to the next `## `. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

describe('docs/errors.md', () => {
  const rows = [...readDoc('errors.md').matchAll(/^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|([^|]+)\|([^|]+)\|/gm)].map((m) => ({
    code: m[1]!,
    http: m[2]!.trim(),
    close: m[3]!.trim(),
  }));

  it('lists every error code exactly once, and no other', () => {
    expect(rows.map((row) => row.code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('names every merged code with the code it became, which exists', () => {
    const text = readDoc('errors.md');
    for (const [old, current] of Object.entries(ERROR_CODE_ALIASES)) {
      expect(Object.keys(ERROR_CODES)).not.toContain(old);
      expect(Object.keys(ERROR_CODES)).toContain(current);
      expect(text).toContain(`\`${old}\``);
    }
  });

  it.each(rows.filter((row) => row.http !== '—'))('$code: HTTP $http matches src/errors.ts', (row) => {
    expect(Number(row.http)).toBe(ERROR_CODES[row.code as keyof typeof ERROR_CODES].httpStatus);
  });

  it.each(rows.filter((row) => row.close !== '—'))('$code: close $close matches src/errors.ts', (row) => {
    expect(Number(row.close)).toBe(ERROR_CODES[row.code as keyof typeof ERROR_CODES].closeCode);
  });
});

describe('docs/options.md', () => {
  const srcDir = new URL('../../src/', import.meta.url);
  const sources = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))
    .map((path) => ts.createSourceFile(path, readFileSync(new URL(path, srcDir), 'utf8'), ts.ScriptTarget.Latest));

  /** The interface's own property names (not inherited ones), wherever under src/ it is declared. */
  function optionKeys(name: string): string[] {
    for (const source of sources) {
      for (const statement of source.statements) {
        if (ts.isInterfaceDeclaration(statement) && statement.name.text === name) {
          return statement.members.filter(ts.isPropertySignature).map((member) => member.name.getText(source));
        }
      }
    }
    throw new Error(`interface ${name} not found under src/`);
  }

  const options = readDoc('options.md');
  const documented = (...headings: string[]): string[] =>
    headings.flatMap((heading) =>
      [...section(options, heading).matchAll(/^\|\s*`([A-Za-z]+)`\s*\|/gm)].map((m) => m[1]!),
    );

  it.each([
    { what: 'ServerOptions', keys: () => optionKeys('ServerOptions'), headings: ['Server', 'sac-sock endpoint'] },
    {
      what: 'HttpLimitOptions and CreateServerOptions',
      keys: () => [...optionKeys('HttpLimitOptions'), ...optionKeys('CreateServerOptions')],
      headings: ['HTTP limits (`createServer` only)'],
    },
    {
      what: 'WebSocketEndpointOptions',
      keys: () => optionKeys('WebSocketEndpointOptions'),
      headings: ['Plain endpoints'],
    },
    { what: 'RedisAdapterOptions', keys: () => optionKeys('RedisAdapterOptions'), headings: ['RedisAdapter'] },
  ])('lists every option of $what exactly once, and no other', ({ keys, headings }) => {
    const expected = keys();
    expect(expected.length).toBeGreaterThan(0);
    expect(documented(...headings).sort()).toEqual(expected.sort());
  });
});
