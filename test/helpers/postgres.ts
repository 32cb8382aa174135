import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresOptions } from '../../src/metadata/postgres.js';

/** Database the PostgreSQL tests use; set BERTH_TEST_POSTGRES_URL to point them elsewhere. */
export const testPostgresUrl = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

/**
 * Returns undefined when the test database accepts a connection, else the reason it does not,
 * with what to install or start.
 */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: testPostgresUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${testPostgresUrl} is not reachable (${(error as Error).message}): install and start it with apt-get install -y postgresql, or set BERTH_TEST_POSTGRES_URL`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Store options on a new, uniquely named schema of the test database; `url` may be replaced. */
export function testPostgresOptions(url = testPostgresUrl): PostgresOptions {
  return { url, schema: `berth_test_${randomBytes(6).toString('hex')}`, poolSize: 4, connectTimeoutSeconds: 2, statementTimeoutSeconds: 30 };
}

/** Drops a schema the tests created, with everything in it. */
export async function dropTestSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: testPostgresUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
