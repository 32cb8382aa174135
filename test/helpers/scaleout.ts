import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createS3Client } from '../../src/storage/s3-client.js';
import { dropTestSchema, testPostgresUrl } from './postgres.js';
import { createTestBucket, removeTestBucket, testS3Connection, testS3Endpoint } from './s3.js';

/**
 * True when BERTH_TEST_BACKENDS=scaleout: test servers then keep metadata in PostgreSQL and blobs
 * in S3 instead of SQLite and the filesystem, so the same API tests cover the scale-out setup.
 */
export const scaleOut = process.env.BERTH_TEST_BACKENDS === 'scaleout';

/** Names of the schema and bucket of one test server, kept in its data directory across restarts. */
interface ScaleOutNames {
  readonly schema: string;
  readonly bucket: string;
}

const namesFile = 'scaleout.json';

/**
 * Returns configuration overrides that put a test server on PostgreSQL and S3, creating a fresh
 * schema and bucket the first time for `dataDir` and reusing them when the server restarts on it.
 */
export async function scaleOutOverrides(dataDir: string): Promise<Record<string, string>> {
  if (!testS3Endpoint) throw new Error('BERTH_TEST_BACKENDS=scaleout needs an S3 store: start one with eval "$(bash scripts/s3-up.sh)"');
  let names: ScaleOutNames;
  try {
    names = JSON.parse(await readFile(join(dataDir, namesFile), 'utf8')) as ScaleOutNames;
  } catch {
    const client = createS3Client(testS3Connection);
    try {
      names = { schema: `berth_test_${randomBytes(6).toString('hex')}`, bucket: await createTestBucket(client) };
    } finally {
      client.destroy();
    }
    await writeFile(join(dataDir, namesFile), JSON.stringify(names));
  }
  return {
    'metadata.driver': 'postgres',
    'metadata.postgres.url': testPostgresUrl,
    'metadata.postgres.schema': names.schema,
    'storage.driver': 's3',
    'storage.s3.bucket': names.bucket,
    'storage.s3.endpoint': testS3Endpoint,
    'storage.s3.forcePathStyle': 'true',
    'storage.s3.prefix': 'registry',
  };
}

/** Drops the schema and bucket that {@link scaleOutOverrides} created for `dataDir`, if any. */
export async function removeScaleOutData(dataDir: string): Promise<void> {
  let names: ScaleOutNames;
  try {
    names = JSON.parse(await readFile(join(dataDir, namesFile), 'utf8')) as ScaleOutNames;
  } catch {
    return;
  }
  await dropTestSchema(names.schema);
  const client = createS3Client(testS3Connection);
  try {
    await removeTestBucket(client, names.bucket);
  } finally {
    client.destroy();
  }
}
