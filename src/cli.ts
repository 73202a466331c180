#!/usr/bin/env node
/**
 * Entry point only: parse arguments, dispatch, turn failures into exit codes. Commands are imported
 * on demand so `token` and `check` never start loading the worker pool or pg.
 */
import { parseArgs } from 'node:util';
import { signDevToken } from './auth/dev-token.js';
import { EXIT, USAGE, UsageError, parseClaims, parsePort, requireOption } from './cli/usage.js';
import { ConfigError } from './config/config-error.js';
import { loadConfigFile } from './config/load.js';
import { holdHangUps } from './cli/hold-hang-ups.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  claims: { type: 'string' },
  expires: { type: 'string' },
  sql: { type: 'string' },
  connection: { type: 'string' },
  threads: { type: 'string' },
  'metrics-port': { type: 'string' },
  'from-database': { type: 'string' },
  'tenant-column': { type: 'string' },
  'tenant-claim': { type: 'string' },
  schema: { type: 'string', multiple: true },
  out: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: string[]): Promise<number | undefined> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (values.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  switch (command) {
    case 'serve': {
      const hangUps = holdHangUps();
      const listen: { port?: number; host?: string } = {};
      const port = parsePort(values.port);
      if (port !== undefined) listen.port = port;
      if (values.host !== undefined) listen.host = values.host;
      const { closeOnSignals, serve } = await import('./cli/serve.js');
      closeOnSignals(await serve(requireOption(values, 'config'), listen));
      hangUps.release();
      return undefined; // keeps running until a signal
    }
    case 'api': {
      const hangUps = holdHangUps();
      const listen: { port?: number; host?: string } = {};
      const port = parsePort(values.port);
      if (port !== undefined) listen.port = port;
      if (values.host !== undefined) listen.host = values.host;
      const [{ api }, { closeOnSignals }] = await Promise.all([import('./cli/api.js'), import('./cli/serve.js')]);
      closeOnSignals(await api(requireOption(values, 'config'), listen));
      hangUps.release();
      return undefined;
    }
    case 'worker': {
      const hangUps = holdHangUps();
      const { closeWorkerOnSignals, parseMetricsPort, parseThreads, worker } = await import('./cli/worker.js');
      const metricsPort = parseMetricsPort(values['metrics-port']);
      closeWorkerOnSignals(await worker(requireOption(values, 'config'), parseThreads(values.threads), undefined, { metricsPort }));
      hangUps.release();
      return undefined;
    }
    case 'token': {
      const config = loadConfigFile(requireOption(values, 'config'));
      const claims = parseClaims(requireOption(values, 'claims'));
      console.log(await signDevToken(config, claims, values.expires ?? '1h'));
      return EXIT.ok;
    }
    case 'check': {
      const { check } = await import('./cli/check.js');
      return check(requireOption(values, 'config'), parseClaims(requireOption(values, 'claims')), requireOption(values, 'sql'), values.connection);
    }
    case 'init': {
      const { init } = await import('./cli/init.js');
      return init({
        fromDatabase: requireOption(values, 'from-database'),
        tenantColumn: values['tenant-column'],
        tenantClaim: values['tenant-claim'],
        schemas: values.schema,
        file: values.out,
      });
    }
    case 'demo': {
      const [{ runDemo }, { closeOnSignals }] = await Promise.all([import('./demo/run-demo.js'), import('./cli/serve.js')]);
      closeOnSignals(await runDemo());
      return undefined;
    }
    default:
      throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (e: unknown) => {
    const { name, code, message } = (e ?? {}) as { name?: string; code?: string; message?: string };
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exitCode = EXIT.usage;
    } else if (e instanceof UsageError || code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`sluice: ${message}\n\n${USAGE}`);
      process.exitCode = EXIT.usage;
    } else if (name === 'DemoDatabaseError') {
      console.error(`sluice demo: ${message}`);
      process.exitCode = EXIT.failed;
    } else {
      console.error(`sluice: ${message ?? String(e)}`);
      process.exitCode = EXIT.failed;
    }
  },
);
