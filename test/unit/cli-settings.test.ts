/**
 * The command line's settings: flags over environment over config file over defaults, the
 * library's option names throughout, and a UsageError (one line, exit 2) for anything else.
 */
import { describe, expect, it } from 'vitest';
import { envName, flagName, SERVER_OPTION_KINDS } from '../../src/cli/options.js';
import { resolveSettings, UsageError } from '../../src/cli/settings.js';

const noFile = (path: string): string => {
  throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
};

describe('command line settings', () => {
  it('has its own defaults for a process, and leaves every other option to the library', () => {
    const settings = resolveSettings([], {}, noFile);
    expect([settings.port, settings.host, settings.logLevel, settings.redis]).toEqual([
      8080,
      '127.0.0.1',
      'info',
      undefined,
    ]);
    expect(settings.server).toEqual({ metrics: true, health: true, dashboard: true, flashPolicyPort: false });
  });

  it('takes flags over environment over the config file', () => {
    const config = JSON.stringify({ port: 7000, maxConnections: 10, origins: ['a:*'], sacSockPath: false });
    const settings = resolveSettings(
      ['--port', '9000', '--heartbeat-interval-ms=250', '--no-dashboard', '--transports', 'websocket,xhr-polling'],
      { SWITCHYARD_MAX_CONNECTIONS: '20', SWITCHYARD_CONFIG: 'conf.json', REDIS_URL: 'redis://r:1', PORT: '7500' },
      () => config,
    );
    expect(settings.port).toBe(9000);
    expect(settings.redis).toBe('redis://r:1');
    expect(settings.server).toMatchObject({
      maxConnections: 20,
      heartbeatIntervalMs: 250,
      dashboard: false,
      transports: ['websocket', 'xhr-polling'],
      origins: ['a:*'],
      sacSockPath: false,
    });
  });

  it('names every server option as a flag and a variable', () => {
    expect(flagName('maxConnectionsPerAddress')).toBe('max-connections-per-address');
    expect(envName('maxConnectionsPerAddress')).toBe('SWITCHYARD_MAX_CONNECTIONS_PER_ADDRESS');
    for (const name of Object.keys(SERVER_OPTION_KINDS)) {
      expect(() => resolveSettings([`--${flagName(name)}`, name === 'adminToken' ? 'x' : '1'], {}, noFile)).not.toThrow(
        /unknown option/,
      );
    }
  });

  it.each([
    [['--nope'], 'unknown option --nope'],
    [['--port'], '--port needs a value'],
    [['--port', 'eighty'], '--port must be a number, got "eighty"'],
    [['--port', '70000'], '--port must be a port number (0 picks a free one), got 70000'],
    [['--metrics', 'maybe'], 'unexpected argument "maybe"'],
    [['--tls-cert', 'c.pem'], '--tls-cert and --tls-key go together'],
    [['--config', 'missing.json'], 'cannot read missing.json: ENOENT'],
    [['--workers', '2'], '--workers needs --redis: the workers share their sessions through Redis'],
    [['--workers', '0', '--redis', 'redis://r'], '--workers must be a whole number from 1 to 64, got 0'],
    [['--workers', '1.5', '--redis', 'redis://r'], '--workers must be a whole number from 1 to 64, got 1.5'],
    [['positional'], 'unexpected argument "positional"'],
  ])('refuses %j in one line', (argv, message) => {
    expect(() => resolveSettings(argv, {}, noFile)).toThrow(new UsageError(message));
  });

  it('refuses a config file that is not an object of known, well-typed options', () => {
    const read = (text: string) => () => text;
    expect(() => resolveSettings(['--config', 'c.json'], {}, read('[1]'))).toThrow('c.json must hold one JSON object');
    expect(() => resolveSettings(['--config', 'c.json'], {}, read('{"bogus": 1}'))).toThrow(
      'c.json: unknown option "bogus"',
    );
    expect(() => resolveSettings(['--config', 'c.json'], {}, read('{"maxConnections": "ten"}'))).toThrow(
      'c.json: maxConnections has the wrong type (number expected)',
    );
    expect(() => resolveSettings(['--config', 'c.json'], {}, read('{'))).toThrow(/c\.json is not JSON/);
  });
});
