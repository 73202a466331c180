/**
 * CPU time of processes and threads from /proc (Linux): utime + stime in clock ticks (1/100 s),
 * for the tests that check a runaway statement really stopped and for the benches' meters.
 */
import { readFileSync } from 'node:fs';

/** utime + stime of the task whose stat file is `path` (`/proc/<pid>/stat`, `…/task/<tid>/stat`); undefined when it is gone. */
export function statTicks(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15 of stat)
  } catch {
    return undefined;
  }
}

/** utime + stime summed over whole processes; a process that is gone counts 0. */
export function processTicks(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (statTicks(`/proc/${pid}/stat`) ?? 0), 0);
}

/** Whether process `pid` exists (signal 0); a stopped process counts as alive. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
