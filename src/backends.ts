import type { Logger } from 'pino';
import { resolvePaths } from './config/load.js';
import type { Config } from './config/schema.js';
import { openSqliteStore } from './metadata/sqlite.js';
import type { MetadataStore } from './metadata/store.js';
import type { StorageDriver } from './storage/driver.js';
import { FilesystemDriver } from './storage/filesystem.js';

/** The storage driver and metadata store a configuration selects, and where each one points. */
export interface Backends {
  readonly driver: StorageDriver;
  readonly store: MetadataStore;
  /** Location of each backend for the start-up log, with no credentials in it. */
  readonly locations: { readonly storage: string; readonly metadata: string };
}

/** Opens the storage driver the configuration selects; the filesystem root is created when missing. */
export async function openStorage(config: Config): Promise<{ driver: StorageDriver; location: string }> {
  if (config.storage.driver === 'filesystem') {
    const { storageRoot } = resolvePaths(config);
    return { driver: await FilesystemDriver.create(storageRoot), location: storageRoot };
  }
  // The AWS SDK and the pg client load only when selected: they add tens of MiB to every process.
  const { S3Driver } = await import('./storage/s3.js');
  const s3 = config.storage.s3;
  const driver = new S3Driver({
    bucket: s3.bucket as string,
    prefix: s3.prefix,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    partSize: s3.partSizeMib * 1024 * 1024,
    timeoutSeconds: s3.timeoutSeconds,
    publicEndpoint: s3.redirect.endpoint,
  });
  return { driver, location: `s3://${s3.bucket}/${s3.prefix}${s3.endpoint ? ` at ${s3.endpoint}` : ''}` };
}

/** Opens the metadata store the configuration selects, without migrating it. */
export async function openMetadata(config: Config, log: Logger): Promise<{ store: MetadataStore; location: string }> {
  if (config.metadata.driver === 'sqlite') {
    const { sqlitePath } = resolvePaths(config);
    return { store: openSqliteStore(sqlitePath), location: sqlitePath };
  }
  const { openPostgresStore } = await import('./metadata/postgres.js');
  const postgres = config.metadata.postgres;
  const store = openPostgresStore({ ...postgres, url: postgres.url as string }, log);
  return { store, location: `${redactUrl(postgres.url as string)} schema ${postgres.schema}` };
}

/** Returns a connection URL with its password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
