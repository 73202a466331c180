/**
 * SIGHUP's default action ends the process, and a long-running command installs its reload
 * handler only once it has started (threads up, Redis reached, port bound: seconds, up to the
 * Redis wait). A reload sent in that window (a config tool reloading every process) would kill
 * the process. Until `release()`, hang-ups are held; if one came, it is sent again then, so the
 * command's own handler applies the file as it is by now.
 */
export interface HeldHangUps {
  /** Call once the command's own SIGHUP handler is in place. */
  release(): void;
}

export function holdHangUps(): HeldHangUps {
  let held = false;
  const hold = (): void => {
    held = true;
  };
  process.on('SIGHUP', hold);
  return {
    release() {
      process.off('SIGHUP', hold);
      if (held) process.kill(process.pid, 'SIGHUP');
    },
  };
}
