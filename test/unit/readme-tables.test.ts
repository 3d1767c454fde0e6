/**
 * The README's error table must list every code of `src/errors.ts` with its HTTP status and
 * close code, and nothing else: the table is the contract clients read.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const errorsSection = readme.slice(
  readme.indexOf('## Errors'),
  readme.indexOf('\n## ', readme.indexOf('## Errors') + 1),
);
const rows = [...errorsSection.matchAll(/^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|([^|]+)\|([^|]+)\|/gm)].map((m) => ({
  code: m[1]!,
  http: m[2]!.trim(),
  close: m[3]!.trim(),
}));

describe('README error table', () => {
  it('lists every error code exactly once, and no other', () => {
    expect(rows.map((row) => row.code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it.each(rows.filter((row) => row.http !== '—'))('$code: HTTP $http matches src/errors.ts', (row) => {
    expect(Number(row.http)).toBe(ERROR_CODES[row.code as keyof typeof ERROR_CODES].httpStatus);
  });

  it.each(rows.filter((row) => row.close !== '—'))('$code: close $close matches src/errors.ts', (row) => {
    expect(Number(row.close)).toBe(ERROR_CODES[row.code as keyof typeof ERROR_CODES].closeCode);
  });
});
