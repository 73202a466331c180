/**
 * A long-running command installs its signal handlers only once it has started (threads up, Redis
 * reached, port bound: seconds, up to the Redis wait), and it announces that start in the log just
 * before. A signal in that window would meet the default action: SIGHUP (a config tool reloading
 * every process) and SIGTERM (a supervisor that saw the ready line) would end the process at once,
 * with no drain. Until `release()`, these signals are held; each one that came is sent again then,
 * so the command's own handlers apply (reload, graceful close). A second SIGTERM/SIGINT while
 * holding means "now": exit at once, as the command's own handlers do.
 */
export interface HeldSignals {
  /** Call once the command's own handlers are in place. */
  release(): void;
}

const HELD = ['SIGHUP', 'SIGTERM', 'SIGINT'] as const;

export function holdSignals(): HeldSignals {
  const held = new Set<NodeJS.Signals>();
  const hold = (signal: NodeJS.Signals): void => {
    if (signal !== 'SIGHUP' && (held.has('SIGTERM') || held.has('SIGINT'))) process.exit(1);
    held.add(signal);
  };
  for (const signal of HELD) process.on(signal, hold);
  return {
    release() {
      for (const signal of HELD) process.off(signal, hold);
      for (const signal of held) process.kill(process.pid, signal);
    },
  };
}
