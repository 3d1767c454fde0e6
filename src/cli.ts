#!/usr/bin/env node
/**
 * `switchyard` (and `npm start`): the chat demo with health, metrics and the live dashboard,
 * on one process. `switchyard --help` lists every option; the reference is docs/operations.md.
 */
import { run } from './cli/run.js';

const code = await run(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).catch((error: unknown) => {
  process.stderr.write(`switchyard: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
process.exitCode = code;
// Whatever still holds the event loop (a socket a client keeps half-open) must not keep a
// stopped server's process alive.
setTimeout(() => process.exit(code), 1_000).unref();
