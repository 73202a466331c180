#!/usr/bin/env node
/**
 * Entry point only: parse arguments, dispatch, turn failures into exit codes. Commands are imported
 * on demand so `token` and `check` never start loading the worker pool or pg.
 */
import { parseArgs } from 'node:util';
import { signDevToken } from './auth/dev-token.js';
import { EXIT, OPTIONS, USAGE, UsageError, checkOptions, commandUsage, isCommand, parseClaims, parsePort, requireOption } from './cli/usage.js';
import { ConfigError } from './config/config-error.js';
import { loadConfigFile } from './config/load.js';
import { holdSignals } from './cli/hold-signals.js';

async function main(argv: string[]): Promise<number | undefined> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (values.version && command === undefined) {
    const { sluiceVersion } = await import('./cli/version.js');
    console.log(sluiceVersion());
    return EXIT.ok;
  }
  if (values.help && command === undefined) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (!isCommand(command)) throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  if (values.help) {
    console.log(commandUsage(command));
    return EXIT.ok;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`, command);
  checkOptions(command, values);
  const required = (name: string): string => requireOption(values, name, command);
  switch (command) {
    case 'serve': {
      const held = holdSignals();
      const listen: { port?: number; host?: string } = {};
      const port = parsePort(values.port);
      if (port !== undefined) listen.port = port;
      if (values.host !== undefined) listen.host = values.host;
      const { closeOnSignals, serve } = await import('./cli/serve.js');
      closeOnSignals(await serve(required('config'), listen));
      held.release();
      return undefined; // keeps running until a signal
    }
    case 'api': {
      const held = holdSignals();
      const listen: { port?: number; host?: string } = {};
      const port = parsePort(values.port);
      if (port !== undefined) listen.port = port;
      if (values.host !== undefined) listen.host = values.host;
      const [{ api }, { closeOnSignals }] = await Promise.all([import('./cli/api.js'), import('./cli/serve.js')]);
      closeOnSignals(await api(required('config'), listen));
      held.release();
      return undefined;
    }
    case 'worker': {
      const held = holdSignals();
      const { closeWorkerOnSignals, parseMetricsPort, parseThreads, worker } = await import('./cli/worker.js');
      const metricsPort = parseMetricsPort(values['metrics-port']);
      closeWorkerOnSignals(await worker(required('config'), parseThreads(values.threads), { metricsPort }));
      held.release();
      return undefined;
    }
    case 'token': {
      const config = loadConfigFile(required('config'));
      const claims = parseClaims(required('claims'));
      console.log(await signDevToken(config, claims, values.expires ?? '1h'));
      return EXIT.ok;
    }
    case 'check': {
      const { check } = await import('./cli/check.js');
      return check(required('config'), parseClaims(required('claims')), required('sql'), values.connection);
    }
    case 'validate': {
      const { validate } = await import('./cli/validate.js');
      validate(required('config'));
      return EXIT.ok;
    }
    case 'healthcheck': {
      const { healthcheck, healthcheckUrl, parseTimeout } = await import('./cli/healthcheck.js');
      return (await healthcheck(healthcheckUrl(values.url), parseTimeout(values.timeout))) ? EXIT.ok : EXIT.failed;
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
    case 'init': {
      const { init } = await import('./cli/init.js');
      return init({
        fromDatabase: required('from-database'),
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
      throw new UsageError(`unknown command "${command}"`);
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
      const command = e instanceof UsageError ? e.command : undefined;
      console.error(`sluice: ${message}\n\n${command === undefined ? USAGE : commandUsage(command)}`);
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
