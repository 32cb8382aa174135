import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { openMetadata, openStorage } from '../backends.js';
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, resolvePaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../log.js';
import { copyRegistry, type CopyProgress, type RegistryBackends } from './copy.js';
import { verifyCopy } from './verify.js';

/** Help text of `berth migrate`. */
export const migrateUsage = `Usage: berth migrate --to FILE [--from FILE | --from-data-dir DIR] [--verify]

Copies a registry into other backends, typically an embedded installation (SQLite and the
filesystem) into PostgreSQL and S3, without pushing any image again. Every blob is checked
against its digest while it is copied and becomes visible in the target only after. The
source may keep serving: run the command again to copy what was pushed meanwhile; blobs the
target already has are skipped. Upload sessions in progress are not copied.

Options:
  --to FILE            configuration of the target (for example metadata.driver: postgres and
                       storage.driver: s3); BERTH_* variables do not apply to it
  --from FILE          configuration of the source (default: the embedded default)
  --from-data-dir DIR  data directory of an embedded source (default: ./data)
  --verify             afterwards read every blob back from the target and compare every
                       manifest, tag and blob link with the source; exit 1 on a difference
  -h, --help           show this help
`;

/** Runs `berth migrate` with `args`; resolves to the exit code. */
export async function migrateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: 'string' },
      from: { type: 'string' },
      'from-data-dir': { type: 'string' },
      verify: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(migrateUsage);
    return 0;
  }
  if (values.to === undefined) {
    process.stderr.write(`berth migrate: missing --to FILE, the configuration of the target\n\n${migrateUsage}`);
    return 2;
  }
  const sourceConfig = loadConfig({ file: values.from, overrides: { dataDir: values['from-data-dir'] } });
  const missingSource = missingEmbeddedSource(sourceConfig);
  if (missingSource) {
    process.stderr.write(`berth migrate: ${missingSource}: check --from-data-dir or --from\n`);
    return 2;
  }
  let targetConfig: Config;
  try {
    targetConfig = loadConfig({ file: values.to });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${error.message} (BERTH_* environment variables do not apply to --to: put every setting of the target in ${values.to})`);
  }
  const log = createLogger({ ...targetConfig.log, level: targetConfig.log.level === 'info' ? 'warn' : targetConfig.log.level });

  const source = await open(sourceConfig, log);
  try {
    const target = await open(targetConfig, log);
    try {
      return await run(source.backends, target.backends, values.verify === true, log, `${source.description} -> ${target.description}`);
    } finally {
      await target.backends.store.close();
    }
  } finally {
    await source.backends.store.close();
  }
}

/**
 * Returns why an embedded source (SQLite, filesystem) cannot be the installation to copy, or
 * undefined when its database and storage exist. Opening them would create empty ones.
 */
function missingEmbeddedSource(config: Config): string | undefined {
  const { sqlitePath, storageRoot } = resolvePaths(config);
  if (config.metadata.driver === 'sqlite' && !existsSync(sqlitePath)) return `no berth database at ${sqlitePath}`;
  if (config.storage.driver === 'filesystem' && !existsSync(storageRoot)) return `no berth storage at ${storageRoot}`;
  return undefined;
}

async function open(config: Config, log: Logger): Promise<{ backends: RegistryBackends; description: string }> {
  const storage = await openStorage(config);
  const metadata = await openMetadata(config, log);
  await metadata.store.migrate();
  return { backends: { driver: storage.driver, store: metadata.store }, description: `${metadata.location} + ${storage.location}` };
}

async function run(source: RegistryBackends, target: RegistryBackends, verify: boolean, log: Logger, description: string): Promise<number> {
  process.stderr.write(`berth migrate: ${description}\n`);
  const display = progressDisplay();
  const started = Date.now();
  const copied = await copyRegistry(source, target, log, display.update);
  display.finish(copied);
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `copied ${copied.blobsCopied} blobs (${formatBytes(copied.bytesCopied)}) in ${seconds.toFixed(1)} s, skipped ${copied.blobsSkipped} already there; ` +
      `${copied.repositories} repositories, ${copied.manifests} manifests, ${copied.tags} tags\n`,
  );
  if (!verify) return 0;
  const report = await verifyCopy(source, target);
  for (const problem of report.problems) process.stdout.write(`difference: ${problem}\n`);
  process.stdout.write(`verified ${report.blobs} blobs, ${report.manifests} manifests and ${report.tags} tags: ${report.problems.length === 0 ? 'identical' : `${report.problems.length} differences`}\n`);
  return report.problems.length === 0 ? 0 : 1;
}

/** Returns a progress display on stderr: a bar on a terminal, otherwise a line every 5 seconds. */
function progressDisplay(): { update: (progress: Readonly<CopyProgress>) => void; finish: (progress: Readonly<CopyProgress>) => void } {
  const terminal = process.stderr.isTTY === true;
  let lastLine = 0;
  const line = (progress: Readonly<CopyProgress>): string => {
    const done = progress.bytesCopied;
    const blobsDone = progress.blobsCopied + progress.blobsSkipped;
    const fraction = progress.blobsTotal === 0 ? 1 : blobsDone / progress.blobsTotal;
    const width = 30;
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
    return `[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% blobs ${blobsDone}/${progress.blobsTotal}, ${formatBytes(done)} copied of ${formatBytes(progress.bytesTotal)}, ${progress.repositories} repositories`;
  };
  return {
    update(progress) {
      const now = Date.now();
      if (terminal && now - lastLine >= 100) process.stderr.write(`\r${line(progress)}`);
      else if (!terminal && now - lastLine >= 5000) process.stderr.write(`${line(progress)}\n`);
      else return;
      lastLine = now;
    },
    finish(progress) {
      process.stderr.write(terminal ? `\r${line(progress)}\n` : `${line(progress)}\n`);
    },
  };
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
