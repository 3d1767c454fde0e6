/**
 * File descriptor limits for scenario G: what the machine allows, raising a process's limit
 * with `prlimit` (util-linux), and how many descriptors a process has open.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The soft and hard "Max open files" of `pid` (`self` for this process), or undefined. */
export function fdLimit(pid: number | 'self'): { soft: number; hard: number } | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line ?? '').slice('Max open files'.length).trim().split(/\s+/).map(Number);
    return soft === undefined || hard === undefined ? undefined : { soft, hard };
  } catch {
    return undefined;
  }
}

/** Descriptors `pid` has open, or undefined once it is gone. */
export function openFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** One line for the report: this process's limit, the kernel's ceiling, the ephemeral ports. */
export function machineLimits(): string {
  const own = fdLimit('self');
  const ports = read('/proc/sys/net/ipv4/ip_local_port_range').split(/\s+/).join('–');
  return (
    `open files: soft ${own?.soft ?? '?'}, hard ${own?.hard ?? '?'} (ulimit -Hn) for the orchestrator, ` +
    `fs.nr_open ${read('/proc/sys/fs/nr_open')}, fs.file-max ${read('/proc/sys/fs/file-max')}; ` +
    `ephemeral ports ${ports} per local address`
  );
}

/**
 * Raises `pid`'s open-file limit (soft and hard) to `wanted` with prlimit, if it is lower. Without
 * CAP_SYS_RESOURCE the hard limit cannot go up: then the soft limit goes to the hard one.
 * Returns the limit now in force and, when it is below `wanted`, why.
 */
export function raiseFdLimit(pid: number, wanted: number): { limit: number; refused?: string } {
  const current = fdLimit(pid);
  // Never lower a limit: a machine that allows more keeps it.
  if (current !== undefined && current.soft >= wanted) return { limit: current.soft };
  try {
    execFileSync('prlimit', [`--pid=${pid}`, `--nofile=${wanted}:${wanted}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    const refused = stderr !== undefined && stderr !== '' ? stderr : String(error);
    const hard = fdLimit(pid)?.hard;
    if (hard !== undefined) {
      try {
        execFileSync('prlimit', [`--pid=${pid}`, `--nofile=${hard}:${hard}`], { stdio: 'ignore' });
      } catch {
        // The soft limit stays where it was; fdLimit below reports it.
      }
    }
    return { limit: fdLimit(pid)?.soft ?? 0, refused };
  }
  return { limit: fdLimit(pid)?.soft ?? 0 };
}
