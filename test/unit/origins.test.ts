import { describe, expect, it } from 'vitest';
import { isOriginAllowed, parseOrigins } from '../../src/http/origins.js';

describe('origins allow-list', () => {
  it.each([
    ['*:*', 'http://anything.test:1234', true],
    ['*', 'https://anything.test', true],
    ['*:*', 'null', true],
    ['example.com:*', 'http://example.com', true],
    ['example.com:*', 'http://EXAMPLE.com:8080', true],
    ['example.com:*', 'http://evil.test', false],
    ['example.com', 'https://example.com:8443', true],
    ['example.com:80', 'http://example.com', true],
    ['example.com:80', 'https://example.com', false],
    ['example.com:443', 'https://example.com', true],
    ['*:8080', 'http://a.test:8080', true],
    ['*:8080', 'http://a.test:8081', false],
    ['localhost:8080, example.com:*', 'http://localhost:8080', true],
    ['example.com:*', 'null', false],
    ['example.com:*', 'not a url', false],
  ])('%s allows %s: %s', (rules, origin, allowed) => {
    expect(isOriginAllowed(parseOrigins(rules), origin)).toBe(allowed);
  });

  it('lets a request without Origin through (same-origin GETs carry none)', () => {
    expect(isOriginAllowed(parseOrigins('example.com:80'), undefined)).toBe(true);
  });

  it('accepts a list as an array', () => {
    const rules = parseOrigins(['a.test:1', 'b.test:*']);
    expect(isOriginAllowed(rules, 'http://b.test:9')).toBe(true);
    expect(isOriginAllowed(rules, 'http://a.test:2')).toBe(false);
  });
});
