import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { BackendUnavailableError } from '../errors.js';
import { SqlMetadataStore } from './sql-store.js';

/** Connection settings of the PostgreSQL metadata store. */
export interface PostgresOptions {
  /** Connection URL, `postgres://USER:PASSWORD@HOST:PORT/DATABASE`. */
  readonly url: string;
  /** Schema holding berth's tables; created by the migrations when missing. */
  readonly schema: string;
  /** Largest number of open connections. */
  readonly poolSize: number;
  /** Time allowed to open a connection or wait for a free one, in seconds. */
  readonly connectTimeoutSeconds: number;
  /** Time one statement may run before PostgreSQL cancels it, in seconds. */
  readonly statementTimeoutSeconds: number;
}

// pg returns bigint columns as strings by default; sizes and times fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * Opens the PostgreSQL metadata store. Connections open lazily, so this succeeds while the
 * database is down. Queries then fail with BackendUnavailableError until it returns, because the
 * pool replaces broken connections by itself.
 */
export function openPostgresStore(options: PostgresOptions, log: Logger): SqlMetadataStore {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutSeconds * 1000,
    // The server's statement_timeout cannot fire when the network stalls; this client-side limit
    // does, a little later, and the broken connection is then dropped.
    query_timeout: options.statementTimeoutSeconds * 1000 + 2_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    options: `-c search_path=${quoteIdentifier(options.schema)} -c statement_timeout=${options.statementTimeoutSeconds * 1000}`,
    application_name: 'berth',
  });
  // An idle connection that breaks is dropped by the pool; without a listener the error would end the process.
  pool.on('error', (error) => log.warn({ err: error }, 'idle metadata database connection failed'));
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new GuardedPool(pool, log) }) });
  return new SqlMetadataStore(db, 'postgres', {
    prepare: () => createSchema(db, options.schema),
    migrationSchema: options.schema,
  });
}

/** Creates `schema` when it is missing; creating it needs the CREATE privilege on the database. */
async function createSchema(db: Kysely<unknown>, schema: string): Promise<void> {
  const existing = await sql`select 1 from pg_namespace where nspname = ${schema}`.execute(db);
  if (existing.rows.length > 0) return;
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two nodes creating the schema at once: the later one fails on the catalog's unique index.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
}

/** Quotes a PostgreSQL identifier for use inside a connection's `options`. */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`.replace(/[\\ ]/g, '\\$&');
}

/**
 * A pool that turns failures to reach the database into BackendUnavailableError, so the HTTP
 * layer returns 503 instead of 500, and everything else passes through unchanged.
 */
class GuardedPool implements PostgresPool {
  private readonly watched = new WeakSet<pg.PoolClient>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
  ) {}

  async connect(): Promise<PostgresPoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable(error);
    }
    if (!this.watched.has(client)) {
      // The pool listens only to idle connections; one that breaks while lent out emits here,
      // and its query fails with the same error.
      this.watched.add(client);
      client.on('error', (error) => this.log.warn({ err: error }, 'metadata database connection failed'));
    }
    let broken = false;
    return {
      query: ((text: unknown, parameters?: readonly unknown[]) => {
        if (typeof text !== 'string') return client.query(text as pg.Submittable);
        return client.query(text, parameters as unknown[]).catch((error: unknown) => {
          if (!isConnectionFailure(error)) throw error;
          broken = true;
          throw unavailable(error);
        });
      }) as unknown as PostgresPoolClient['query'],
      // A connection whose query timed out may still deliver that query's result, so it is never reused.
      release: (destroy?: boolean) => client.release(destroy === true || broken),
    };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** SQLSTATE codes meaning the server cannot serve: connection exceptions, shutdown, too many clients. */
const unavailableStates = /^(08|57P0[1-3]|53300)/;

/** Node.js socket errors of a connection that cannot be made or was cut. */
const socketErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Returns true when `error` means the database could not be reached, not that a query was wrong. */
export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (unavailableStates.test(code) || socketErrors.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended|Query read timeout/i.test(message);
}

/** SQLSTATE codes of a server that responded but refused the connection: bad credentials, unknown database. */
const rejectedStates = /^(28|3D)/;

function unavailable(error: unknown): BackendUnavailableError {
  const reason = error instanceof Error && error.message ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  const failure = typeof code === 'string' && rejectedStates.test(code) ? 'rejected the connection' : 'is unreachable';
  return new BackendUnavailableError(`metadata database postgres ${failure} (${reason})`, { cause: error });
}
