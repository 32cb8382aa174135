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
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  return new SqlMetadataStore(db, 'sqlite');
}
