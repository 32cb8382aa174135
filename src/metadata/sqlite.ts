import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { SqlMetadataStore } from './sql-store.js';

/**
 * Opens the embedded SQLite metadata database at `path` (created with its directory when
 * missing) in WAL mode with full synchronous commits, so an acknowledged push survives a crash.
 */
export function openSqliteStore(path: string): SqlMetadataStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  cachePreparedStatements(database);
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  return new SqlMetadataStore(db, 'sqlite');
}

/** Largest number of prepared statements kept; queries with long `IN` lists vary in shape. */
const maxCachedStatements = 500;

/**
 * Makes `prepare` return a cached statement for SQL it has seen before. Kysely prepares every
 * query it runs, and preparing costs more than running the small queries of a registry.
 */
function cachePreparedStatements(database: BetterSqlite3.Database): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, BetterSqlite3.Statement>();
  database.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      if (cache.size >= maxCachedStatements) cache.clear();
      statement = prepare(source);
      cache.set(source, statement);
    }
    return statement;
  }) as typeof database.prepare;
}
