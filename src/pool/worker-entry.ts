/**
 * Where the piscina task file is. After `tsc` it is dist/workers/query-task.js next to
 * dist/src/; running from source (vitest, tsx) only the .ts exists, and the thread needs tsx
 * loaded to import it. The relative path is the same in both layouts.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WorkerEntry {
  filename: string;
  /** undefined: inherit the host's execArgv. */
  execArgv: string[] | undefined;
}

function tsxLoader(): string {
  try {
    // Absolute, so the thread finds tsx whatever the working directory is.
    return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  } catch {
    return 'tsx';
  }
}

export function resolveWorkerEntry(): WorkerEntry {
  const js = fileURLToPath(new URL('../../workers/query-task.js', import.meta.url));
  if (existsSync(js)) return { filename: js, execArgv: undefined };
  const ts = fileURLToPath(new URL('../../workers/query-task.ts', import.meta.url));
  return { filename: ts, execArgv: ['--import', tsxLoader()] };
}
