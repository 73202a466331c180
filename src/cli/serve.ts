import { loadConfigFile } from '../config/load.js';
import { createEngine, type Engine } from '../engine.js';

export async function serve(configPath: string, listen: { port?: number; host?: string }): Promise<Engine> {
  const engine = createEngine(loadConfigFile(configPath), { configSource: () => loadConfigFile(configPath) });
  await listenOrClose(engine, listen);
  reloadOnSignal(engine, configPath);
  return engine;
}

/**
 * SIGHUP: re-read the config file and apply it (Engine.reload). A bad file or a change that needs
 * a restart is logged and the running config stays; the process never exits on SIGHUP.
 */
export function reloadOnSignal(engine: Engine, configPath: string): void {
  process.on('SIGHUP', () => {
    let raw: unknown;
    try {
      raw = loadConfigFile(configPath);
    } catch (err) {
      engine.app.log.error({ err: (err as Error).message }, 'config reload refused; the running config stays');
      return;
    }
    engine.reload(raw).catch((err: unknown) => engine.app.log.error({ err: (err as Error).message }, 'config reload refused; the running config stays'));
  });
}

/** A failed listen (port taken) must still stop the worker threads, or the process never exits. */
export async function listenOrClose(engine: Engine, listen: { port?: number; host?: string } = {}): Promise<{ url: string }> {
  try {
    return await engine.listen(listen);
  } catch (e) {
    await engine.close().catch(() => {});
    throw e;
  }
}

/**
 * SIGTERM (an orchestrator): drain — /readyz says 503 for server.drainDelayMs while requests are
 * still served, then close. SIGINT (a person at a terminal): close at once. Either way running
 * requests finish (bounded) and the process exits 0; a second signal exits at once.
 */
export function closeOnSignals(engine: Engine): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    engine.app.log.info({ signal }, 'shutting down');
    (signal === 'SIGTERM' ? engine.drain() : engine.close()).then(
      () => process.exit(0),
      (err: unknown) => {
        engine.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
