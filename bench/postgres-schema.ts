/** PostgreSQL schemas of berth's metadata in the --s3 mode, one per server start. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Returns a new schema name, `berth_bench_<12 random hex digits>`; berth creates the schema when it starts. */
export function newSchemaName(): string {
  return `berth_bench_${randomBytes(6).toString('hex')}`;
}

/** Drops `schema` of the database at `url` with everything in it; a missing schema is no error. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(`drop schema if exists ${client.escapeIdentifier(schema)} cascade`);
  });
}

/** Returns the server's version (`server_version`). Throws when the database does not accept a connection. */
export async function postgresVersion(url: string): Promise<string> {
  return withClient(url, async (client) => {
    const result = await client.query<{ server_version: string }>('show server_version');
    return result.rows[0]?.server_version ?? 'unknown';
  });
}

async function withClient<T>(url: string, task: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
}
