/**
 * How busy the machine was: CPU time of everything on it (from /proc/stat) minus the CPU
 * time of the processes under test (from /proc/<pid>/stat), as cores in use by others.
 */
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU time in ticks of 1/100 s on Linux. */
export const TICKS_PER_SECOND = 100;

function totalBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

/** CPU time (user + system, all threads) of `pid` so far, in ticks of 10 ms. */
export function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

export interface CpuWindow {
  /** Cores used by other processes during the window, on average. */
  stop(): { otherCores: number; ownCores: number; seconds: number; cpuSeconds: number[] };
}

/** Starts a window over `pids` (server, generator) and this orchestrator. */
export function cpuWindow(pids: readonly number[]): CpuWindow {
  const start = performance.now();
  const busy0 = totalBusyTicks();
  const own0 = pids.map(processTicks);
  const self0 = process.cpuUsage();
  return {
    stop() {
      const seconds = (performance.now() - start) / 1000;
      const busy = totalBusyTicks() - busy0;
      const perPid = pids.map((pid, i) => processTicks(pid) - (own0[i] ?? 0));
      const own = perPid.reduce((sum, ticks) => sum + ticks, 0);
      const self = process.cpuUsage(self0);
      const selfTicks = ((self.user + self.system) / 1e6) * TICKS_PER_SECOND;
      const others = Math.max(0, busy - own - selfTicks) / TICKS_PER_SECOND;
      return {
        otherCores: others / seconds,
        ownCores: own / TICKS_PER_SECOND / seconds,
        seconds,
        cpuSeconds: perPid.map((ticks) => ticks / TICKS_PER_SECOND),
      };
    },
  };
}

export function machineSummary(): string {
  const list = cpus();
  return `${list[0]?.model ?? 'unknown CPU'}, ${list.length} cores`;
}

export function loadSummary(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');
}
