/**
 * The command line's settings from, in order of precedence, flags, environment variables,
 * a JSON config file (`--config`) and the defaults. Anything the process cannot use ends in a
 * `UsageError`: one line, the usage, exit code 2.
 */
import type { CreateServerOptions } from '../server.js';
import {
  CLASSIC_ENV,
  CLI_DEFAULTS,
  envName,
  flagName,
  OPTION_KINDS,
  optionOfFlag,
  PROCESS_OPTION_KINDS,
  type Kind,
  type OptionName,
} from './options.js';

/** A mistake in the flags, the environment or the config file (exit code 2). */
export class UsageError extends Error {}

export interface Settings {
  readonly port: number;
  readonly host: string;
  readonly logLevel: string;
  readonly redis: string | undefined;
  /** Worker processes (node:cluster) serving as one server; 1: this process serves. */
  readonly workers: number;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly help: boolean;
  readonly version: boolean;
  /** Every server option that was set (the library fills in the rest). */
  readonly server: CreateServerOptions;
}

type Values = Partial<Record<OptionName, unknown>>;

/** Reads one value of `kind` from text; `where` names its source in the error. */
export function fromText(kind: Kind, text: string, where: string): unknown {
  switch (kind) {
    case 'number':
      return numberOf(text, where);
    case 'boolean':
      if (text === 'true' || text === '1' || text === '') return true;
      if (text === 'false' || text === '0') return false;
      throw new UsageError(`${where} must be true or false, got "${text}"`);
    case 'string':
      return text;
    case 'list':
      return listOf(text);
    case 'number-or-false':
      return text === 'false' ? false : numberOf(text, where);
    case 'string-or-false':
      return text === 'false' ? false : text;
    case 'string-or-list':
      return text.includes(',') ? listOf(text) : text;
  }
}

function numberOf(text: string, where: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${where} must be a number, got "${text}"`);
  return value;
}

function listOf(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** `--name value`, `--name=value`, `--flag` and `--no-flag` for booleans, `-h`, `-v`. */
export function parseArgv(argv: readonly string[]): Values {
  const values: Values = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h') values.help = true;
    else if (arg === '-v') values.version = true;
    else if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    else i = readFlag(argv, i, values);
  }
  return values;
}

/** Reads the flag at `argv[i]` into `values`; returns the index of the last argument it used. */
function readFlag(argv: readonly string[], i: number, values: Values): number {
  const arg = argv[i] as string;
  const eq = arg.indexOf('=');
  const flag = arg.slice(2, eq < 0 ? undefined : eq);
  const negated = flag.startsWith('no-') ? optionOfFlag(flag.slice(3)) : undefined;
  if (negated !== undefined && OPTION_KINDS[negated] === 'boolean' && eq < 0) {
    values[negated] = false;
    return i;
  }
  const name = optionOfFlag(flag);
  if (name === undefined) throw new UsageError(`unknown option --${flag}`);
  const kind = OPTION_KINDS[name];
  if (eq >= 0) {
    values[name] = fromText(kind, arg.slice(eq + 1), `--${flag}`);
    return i;
  }
  const next = argv[i + 1];
  if (kind === 'boolean' && (next === undefined || !['true', 'false'].includes(next))) {
    values[name] = true;
    return i;
  }
  if (next === undefined || next.startsWith('--')) throw new UsageError(`--${flag} needs a value`);
  values[name] = fromText(kind, next, `--${flag}`);
  return i + 1;
}

/** `SWITCHYARD_<NAME>` for every option, and the classic PORT, HOST, REDIS_URL, LOG_LEVEL. */
export function fromEnv(env: NodeJS.ProcessEnv): Values {
  const values: Values = {};
  for (const name of Object.keys(OPTION_KINDS) as OptionName[]) {
    if (name === 'help' || name === 'version') continue;
    const classic = CLASSIC_ENV[name];
    const key = env[envName(name)] !== undefined ? envName(name) : classic;
    const text = key === undefined ? undefined : env[key];
    if (text !== undefined && text !== '') values[name] = fromText(OPTION_KINDS[name], text, key as string);
  }
  return values;
}

/** A JSON object whose keys are option names (the library's, camelCase). */
export function fromConfig(text: string, path: string): Values {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${path} must hold one JSON object of options`);
  }
  const values: Values = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in OPTION_KINDS) || key === 'config') throw new UsageError(`${path}: unknown option "${key}"`);
    values[key as OptionName] = checkJson(OPTION_KINDS[key as OptionName], value, `${path}: ${key}`);
  }
  return values;
}

function checkJson(kind: Kind, value: unknown, where: string): unknown {
  const ok =
    (kind === 'number' && typeof value === 'number') ||
    (kind === 'boolean' && typeof value === 'boolean') ||
    (kind === 'string' && typeof value === 'string') ||
    (kind === 'list' && isStringList(value)) ||
    (kind === 'number-or-false' && (typeof value === 'number' || value === false)) ||
    (kind === 'string-or-false' && (typeof value === 'string' || value === false)) ||
    (kind === 'string-or-list' && (typeof value === 'string' || isStringList(value)));
  if (!ok) throw new UsageError(`${where} has the wrong type (${kind.replace(/-/g, ' ')} expected)`);
  return value;
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Worker processes at most (a bound, well above the cores of one machine). */
const MAX_WORKERS = 64;

/** Flags over environment over config file over defaults. */
export function resolveSettings(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string,
): Settings {
  const flags = parseArgv(argv);
  const fromEnvironment = fromEnv(env);
  const configPath = (flags.config ?? fromEnvironment.config) as string | undefined;
  const config = configPath === undefined ? {} : fromConfig(readConfig(readFile, configPath), configPath);
  const merged: Values = { ...CLI_DEFAULTS, ...config, ...fromEnvironment, ...flags };
  const port = merged.port as number;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a port number (0 picks a free one), got ${String(port)}`);
  }
  const workers = merged.workers as number;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new UsageError(`--workers must be a whole number from 1 to ${MAX_WORKERS}, got ${String(workers)}`);
  }
  // Without a shared store each worker would be a server of its own behind one port: a poll
  // landing on another worker than its session's would be refused.
  if (workers > 1 && merged.redis === undefined) {
    throw new UsageError('--workers needs --redis: the workers share their sessions through Redis');
  }
  if ((merged.tlsCert === undefined) !== (merged.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  const server: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(merged)) {
    if (!(name in PROCESS_OPTION_KINDS) && value !== undefined) server[name] = value;
  }
  return {
    port,
    host: merged.host as string,
    logLevel: merged.logLevel as string,
    redis: merged.redis as string | undefined,
    workers,
    tlsCert: merged.tlsCert as string | undefined,
    tlsKey: merged.tlsKey as string | undefined,
    help: merged.help === true,
    version: merged.version === true,
    server: server as CreateServerOptions,
  };
}

function readConfig(readFile: (path: string) => string, path: string): string {
  try {
    return readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The usage text `--help` prints (and a usage error after its one line). */
export function usage(): string {
  const serverFlags = Object.keys(OPTION_KINDS)
    .filter((name) => !(name in PROCESS_OPTION_KINDS))
    .map((name) => `--${flagName(name)}`);
  const lines = [
    'Usage: switchyard [options]',
    '',
    'Runs the Switchyard chat demo with health, metrics and the dashboard on.',
    '',
    '  --port N                 port to listen on (default 8080; 0 picks a free one)     PORT',
    '  --host HOST              address to bind (default 127.0.0.1; 0.0.0.0 exposes it)    HOST',
    '  --redis URL              share rooms and fan-out through Redis (needs ioredis)     REDIS_URL',
    '  --workers N              N worker processes as one server (needs --redis; default 1)',
    '  --log-level LEVEL        fatal, error, warn, info (default), debug, trace, silent  LOG_LEVEL',
    '  --flash-policy-port N    separate Flash policy listener (default off)',
    '  --admin-token TOKEN      what /metrics and /dashboard ask for off loopback',
    '  --tls-cert FILE --tls-key FILE   serve HTTPS (and wss://)',
    '  --config FILE            a JSON object of options, named as in the library',
    '  --no-metrics, --no-health, --no-dashboard   turn those off',
    '  -h, --help               this text            -v, --version   the version',
    '',
    'Every server option is a flag, an environment variable SWITCHYARD_<NAME> and a config key,',
    "with the library's name and default (docs/options.md):",
    ...wrap(serverFlags.join(' '), 92).map((line) => `  ${line}`),
  ];
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
