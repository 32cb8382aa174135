import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { Registry } from './app.js';
import { ConfigError, configKeys, envName, loadConfig, unknownEnvironmentVariables } from './config/load.js';
import { createLogger } from './log.js';
import { BackendUnavailableError } from './errors.js';
import { migrateCommand } from './migrate/command.js';
import { DigestMismatchError } from './migrate/copy.js';

const usage = `Usage: berth <command> [options]

Commands:
  serve                  Run the registry (default: 0.0.0.0:5000, data under ./data)
  config check FILE      Validate a configuration file and print the effective settings
  config keys            List every configuration key with its environment variable
  migrate --to FILE      Copy this registry into other backends (PostgreSQL, S3); see migrate --help

Options of serve:
  --config FILE          YAML configuration file
  --listen HOST:PORT     Address to listen on (config key: listen)
  --data-dir DIR         Directory for blobs, uploads and the database (config key: dataDir)
  -h, --help             Show this help

Every configuration key can also be set with an environment variable, BERTH_<KEY>,
for example BERTH_LOG_LEVEL=debug. Precedence: flags, then environment, then file, then defaults.
`;

/** Advice for the errors `listen` raises for a bad or busy address, by error code. */
const listenHints: Record<string, string> = {
  EADDRINUSE: 'the address is already in use: stop the other process or choose another address with --listen',
  EACCES: 'permission denied: ports below 1024 need privileges, choose a higher port with --listen',
  EADDRNOTAVAIL: 'no interface has this address: use 127.0.0.1, 0.0.0.0 or an address of this machine',
  ENOTFOUND: 'the host name does not resolve: use an IP address or a resolvable name',
};

/** Runs the command line with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  // Output piped into a command that exits early (`berth config keys | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'config':
        return configCommand(rest);
      case 'migrate':
        return await migrateCommand(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(usage);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`berth: unknown command "${command}"\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`berth: ${error.message}\n`);
      return 2;
    }
    if (error instanceof BackendUnavailableError) {
      process.stderr.write(`berth: ${error.message}: check that it runs and that the configuration points at it\n`);
      return 1;
    }
    if (error instanceof DigestMismatchError) {
      process.stderr.write(`berth: ${error.message}\n`);
      return 1;
    }
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`berth: ${(error as Error).message}: run berth --help for the options\n`);
      return 2;
    }
    throw error;
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const config = loadConfig({
    file: values.config,
    env: process.env,
    overrides: { listen: values.listen, dataDir: values['data-dir'] },
  });
  const log = createLogger(config.log);
  const unknown = unknownEnvironmentVariables(process.env);
  if (unknown.length > 0) log.warn({ variables: unknown }, 'environment variables that set no configuration key were ignored');
  // A stray rejection in one request must not take down every other request in flight.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
  let registry: Registry;
  try {
    registry = await Registry.start(config, log);
  } catch (error) {
    log.fatal({ err: error }, 'failed to start registry');
    const hint = listenHints[(error as NodeJS.ErrnoException).code ?? ''];
    if (!hint) throw error;
    process.stderr.write(`berth: cannot listen on ${config.listen}: ${hint}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'shutdown requested');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void registry.stop().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}

function configCommand(args: string[]): number {
  const [sub, file, ...extra] = args;
  if (sub === 'keys') {
    const keys = configKeys();
    const width = Math.max(...keys.map((key) => key.length)) + 2;
    process.stdout.write(keys.map((key) => `${key.padEnd(width)}${envName(key)}\n`).join(''));
    return 0;
  }
  if (sub !== 'check' || file === undefined || extra.length > 0) {
    process.stderr.write('berth: usage: berth config check FILE | berth config keys\n');
    return 2;
  }
  const config = loadConfig({ file, env: process.env });
  for (const name of unknownEnvironmentVariables(process.env)) {
    process.stderr.write(`berth: warning: ${name} sets no configuration key and was ignored; valid variables are listed by \`berth config keys\`\n`);
  }
  process.stdout.write(`# ${file} is valid; effective configuration (file, then BERTH_* environment variables):\n`);
  process.stdout.write(toYaml(config));
  return 0;
}
