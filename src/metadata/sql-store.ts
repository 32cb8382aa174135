import { Migrator, sql, type Kysely, type Selectable } from 'kysely';
import { BackendUnavailableError } from '../errors.js';
import { GroupCommit } from './group-commit.js';
import { migrationProvider, type SqlDialectName } from './migrations.js';
import type {
  ManifestRecord,
  ManifestReferences,
  MetadataStore,
  PageRequest,
  ReferrerRecord,
  UploadRecord,
} from './store.js';

/** Row types of the schema created by the migrations. Integers may arrive as strings from PostgreSQL. */
interface Database {
  repositories: { name: string; created_at: number };
  blobs: { digest: string; size: number; created_at: number };
  repository_blobs: { repository: string; digest: string; created_at: number };
  manifests: {
    repository: string;
    digest: string;
    media_type: string;
    size: number;
    content: Buffer;
    artifact_type: string | null;
    subject: string | null;
    annotations: string | null;
    created_at: number;
  };
  manifest_references: { repository: string; manifest: string; child: string; kind: string };
  tags: { repository: string; name: string; digest: string; updated_at: number };
  uploads: {
    id: string;
    repository: string;
    size: number;
    created_at: number;
    updated_at: number;
    lease_holder: string | null;
    lease_expires: number | null;
  };
}

/** Dialect-specific steps of {@link SqlMetadataStore}. */
export interface SqlStoreHooks {
  /** Runs before the migrations, for example to create the schema they go into. */
  readonly prepare?: () => Promise<void>;
  /**
   * Schema of the migration bookkeeping tables. PostgreSQL needs it: the migrator looks for its
   * tables in every schema, and would take another schema's for its own.
   */
  readonly migrationSchema?: string;
}

/** SQLSTATE codes of a transaction that lost a race and may simply run again: serialization failure, deadlock. */
const retryableStates = new Set(['40001', '40P01']);

/** Attempts of a transaction that keeps losing races before its error is returned. */
const transactionAttempts = 4;

/** Largest number of values bound in one `IN (...)` list. */
const maxInList = 500;

/**
 * The metadata store on SQL through Kysely. The same queries run on SQLite and PostgreSQL; the
 * dialect only changes column types in the migrations.
 */
export class SqlMetadataStore implements MetadataStore {
  readonly name: SqlDialectName;
  private readonly db: Kysely<Database>;
  /** Small writes go through group commit, so concurrent pushes share one commit each turn. */
  private readonly writes: GroupCommit<Kysely<Database>>;

  constructor(
    db: Kysely<unknown>,
    dialect: SqlDialectName,
    private readonly hooks: SqlStoreHooks = {},
  ) {
    this.db = db as Kysely<Database>;
    this.name = dialect;
    this.writes = new GroupCommit((work) => this.transaction(work));
  }

  /**
   * Runs `work` in a transaction, and again when the database aborted it for a deadlock or a
   * serialization conflict with another writer (other nodes write the same rows).
   */
  private async transaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.db.transaction().execute(work);
      } catch (error) {
        const state = (error as { code?: unknown }).code;
        if (attempt >= transactionAttempts || typeof state !== 'string' || !retryableStates.has(state)) throw error;
      }
    }
  }

  async migrate(): Promise<void> {
    await this.hooks.prepare?.();
    const migrator = new Migrator({
      db: this.db,
      provider: migrationProvider(this.name),
      ...(this.hooks.migrationSchema !== undefined && { migrationTableSchema: this.hooks.migrationSchema }),
    });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }

  async ping(): Promise<void> {
    try {
      await sql`select 1`.execute(this.db);
    } catch (error) {
      if (error instanceof BackendUnavailableError) throw error;
      throw new BackendUnavailableError(`metadata database ${this.name} did not respond (${(error as Error).message})`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async repositoryExists(repository: string): Promise<boolean> {
    const row = await this.db.selectFrom('repositories').select('name').where('name', '=', repository).executeTakeFirst();
    return row !== undefined;
  }

  async listRepositories(page: PageRequest): Promise<string[]> {
    let query = this.db.selectFrom('repositories').select('name').orderBy('name').limit(page.limit);
    if (page.last !== undefined) query = query.where('name', '>', page.last);
    return (await query.execute()).map((row) => row.name);
  }

  async putBlob(digest: string, size: number): Promise<void> {
    const now = Date.now();
    await this.writes.submit((trx) =>
      trx
        .insertInto('blobs')
        .values({ digest, size, created_at: now })
        .onConflict((conflict) => conflict.column('digest').doNothing())
        .execute(),
    );
  }

  async getBlob(digest: string): Promise<{ size: number } | undefined> {
    const row = await this.db.selectFrom('blobs').select('size').where('digest', '=', digest).executeTakeFirst();
    return row && { size: Number(row.size) };
  }

  async linkBlob(repository: string, digest: string): Promise<void> {
    const now = Date.now();
    await this.writes.submit(async (trx) => {
      await insertRepository(trx, repository, now);
      await trx
        .insertInto('repository_blobs')
        .values({ repository, digest, created_at: now })
        .onConflict((conflict) => conflict.columns(['repository', 'digest']).doNothing())
        .execute();
    });
  }

  async getLinkedBlob(repository: string, digest: string): Promise<{ size: number } | undefined> {
    const row = await this.db
      .selectFrom('repository_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
      .select('blobs.size')
      .where('repository_blobs.repository', '=', repository)
      .where('repository_blobs.digest', '=', digest)
      .executeTakeFirst();
    return row && { size: Number(row.size) };
  }

  async findRepositoryWithBlob(digest: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('repository_blobs').select('repository').where('digest', '=', digest).limit(1).executeTakeFirst();
    return row?.repository;
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repository_blobs')
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async linkedBlobSizes(repository: string, digests: readonly string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const chunk of chunks(unique(digests))) {
      const rows = await this.db
        .selectFrom('repository_blobs')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select(['blobs.digest', 'blobs.size'])
        .where('repository_blobs.repository', '=', repository)
        .where('repository_blobs.digest', 'in', chunk)
        .execute();
      for (const row of rows) sizes.set(row.digest, Number(row.size));
    }
    return sizes;
  }

  async manifestSizes(repository: string, digests: readonly string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for (const chunk of chunks(unique(digests))) {
      const rows = await this.db
        .selectFrom('manifests')
        .select(['digest', 'size'])
        .where('repository', '=', repository)
        .where('digest', 'in', chunk)
        .execute();
      for (const row of rows) sizes.set(row.digest, Number(row.size));
    }
    return sizes;
  }

  async putManifest(manifest: ManifestRecord, references: ManifestReferences, tag?: string): Promise<void> {
    const now = Date.now();
    await this.writes.submit(async (trx) => {
      await insertRepository(trx, manifest.repository, now);
      const inserted = await trx
        .insertInto('manifests')
        .values({
          repository: manifest.repository,
          digest: manifest.digest,
          media_type: manifest.mediaType,
          size: manifest.content.byteLength,
          content: manifest.content,
          artifact_type: manifest.artifactType,
          subject: manifest.subject,
          annotations: manifest.annotations ? JSON.stringify(manifest.annotations) : null,
          created_at: manifest.createdAt,
        })
        .onConflict((conflict) => conflict.columns(['repository', 'digest']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
        const rows = [
          ...unique(references.blobs).map((child) => ({ child, kind: 'blob' })),
          ...unique(references.manifests).map((child) => ({ child, kind: 'manifest' })),
        ].map((row) => ({ repository: manifest.repository, manifest: manifest.digest, ...row }));
        for (const chunk of chunks(rows)) {
          await trx
            .insertInto('manifest_references')
            .values(chunk)
            .onConflict((conflict) => conflict.columns(['repository', 'manifest', 'child']).doNothing())
            .execute();
        }
      }
      if (tag !== undefined) {
        await trx
          .insertInto('tags')
          .values({ repository: manifest.repository, name: tag, digest: manifest.digest, updated_at: now })
          .onConflict((conflict) => conflict.columns(['repository', 'name']).doUpdateSet({ digest: manifest.digest, updated_at: now }))
          .execute();
      }
    });
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = await this.db
      .selectFrom('manifests')
      .selectAll()
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row && toManifest(row);
  }

  async getManifestByTag(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    const row = await this.db
      .selectFrom('tags')
      .innerJoin('manifests', (join) =>
        join.onRef('manifests.repository', '=', 'tags.repository').onRef('manifests.digest', '=', 'tags.digest'),
      )
      .selectAll('manifests')
      .where('tags.repository', '=', repository)
      .where('tags.name', '=', tag)
      .executeTakeFirst();
    return row && toManifest(row);
  }

  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    return this.transaction(async (trx) => {
      const result = await trx.deleteFrom('manifests').where('repository', '=', repository).where('digest', '=', digest).executeTakeFirst();
      await trx.deleteFrom('tags').where('repository', '=', repository).where('digest', '=', digest).execute();
      await trx.deleteFrom('manifest_references').where('repository', '=', repository).where('manifest', '=', digest).execute();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const result = await this.db.deleteFrom('tags').where('repository', '=', repository).where('name', '=', tag).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listTags(repository: string, page: PageRequest): Promise<string[]> {
    let query = this.db.selectFrom('tags').select('name').where('repository', '=', repository).orderBy('name').limit(page.limit);
    if (page.last !== undefined) query = query.where('name', '>', page.last);
    return (await query.execute()).map((row) => row.name);
  }

  async listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerRecord[]> {
    let query = this.db
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'size', 'artifact_type', 'annotations'])
      .where('repository', '=', repository)
      .where('subject', '=', subject)
      .orderBy('created_at')
      .orderBy('digest');
    if (artifactType !== undefined) query = query.where('artifact_type', '=', artifactType);
    const rows = await query.execute();
    return rows.map((row) => ({
      digest: row.digest,
      mediaType: row.media_type,
      size: Number(row.size),
      artifactType: row.artifact_type,
      annotations: parseAnnotations(row.annotations),
    }));
  }

  async listBlobs(page: PageRequest): Promise<{ digest: string; size: number }[]> {
    let query = this.db.selectFrom('blobs').select(['digest', 'size']).orderBy('digest').limit(page.limit);
    if (page.last !== undefined) query = query.where('digest', '>', page.last);
    return (await query.execute()).map((row) => ({ digest: row.digest, size: Number(row.size) }));
  }

  async listRepositoryBlobs(repository: string, page: PageRequest): Promise<string[]> {
    let query = this.db.selectFrom('repository_blobs').select('digest').where('repository', '=', repository).orderBy('digest').limit(page.limit);
    if (page.last !== undefined) query = query.where('digest', '>', page.last);
    return (await query.execute()).map((row) => row.digest);
  }

  async listManifests(repository: string, page: PageRequest): Promise<ManifestRecord[]> {
    let query = this.db.selectFrom('manifests').selectAll().where('repository', '=', repository).orderBy('digest').limit(page.limit);
    if (page.last !== undefined) query = query.where('digest', '>', page.last);
    return (await query.execute()).map(toManifest);
  }

  async listTagTargets(repository: string, page: PageRequest): Promise<{ name: string; digest: string }[]> {
    let query = this.db.selectFrom('tags').select(['name', 'digest']).where('repository', '=', repository).orderBy('name').limit(page.limit);
    if (page.last !== undefined) query = query.where('name', '>', page.last);
    return query.execute();
  }

  async createUpload(id: string, repository: string, now: number): Promise<void> {
    await this.writes.submit((trx) =>
      trx.insertInto('uploads').values({ id, repository, size: 0, created_at: now, updated_at: now, lease_holder: null, lease_expires: null }).execute(),
    );
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUpload(row);
  }

  async advanceUpload(id: string, expectedSize: number, size: number, now: number): Promise<boolean> {
    const result = await this.writes.submit((trx) =>
      trx.updateTable('uploads').set({ size, updated_at: now }).where('id', '=', id).where('size', '=', expectedSize).executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async leaseUpload(id: string, holder: string, expiresAt: number, now: number): Promise<boolean> {
    const result = await this.writes.submit((trx) =>
      trx
        .updateTable('uploads')
        .set({ lease_holder: holder, lease_expires: expiresAt })
        .where('id', '=', id)
        .where((row) => row.or([row('lease_holder', 'is', null), row('lease_holder', '=', holder), row('lease_expires', '<', now)]))
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) > 0;
  }

  async releaseUpload(id: string, holder: string): Promise<void> {
    await this.writes.submit((trx) =>
      trx.updateTable('uploads').set({ lease_holder: null, lease_expires: null }).where('id', '=', id).where('lease_holder', '=', holder).execute(),
    );
  }

  async deleteUpload(id: string): Promise<boolean> {
    const result = await this.writes.submit((trx) => trx.deleteFrom('uploads').where('id', '=', id).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  async listStaleUploads(before: number, limit: number): Promise<UploadRecord[]> {
    const rows = await this.db.selectFrom('uploads').selectAll().where('updated_at', '<', before).orderBy('updated_at').limit(limit).execute();
    return rows.map(toUpload);
  }
}

async function insertRepository(trx: Kysely<Database>, name: string, now: number): Promise<void> {
  await trx
    .insertInto('repositories')
    .values({ name, created_at: now })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
}

function toManifest(row: Selectable<Database['manifests']>): ManifestRecord {
  return {
    repository: row.repository,
    digest: row.digest,
    mediaType: row.media_type,
    content: Buffer.isBuffer(row.content) ? row.content : Buffer.from(row.content),
    artifactType: row.artifact_type,
    subject: row.subject,
    annotations: parseAnnotations(row.annotations),
    createdAt: Number(row.created_at),
  };
}

function toUpload(row: Selectable<Database['uploads']>): UploadRecord {
  return {
    id: row.id,
    repository: row.repository,
    size: Number(row.size),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function parseAnnotations(value: string | null): Record<string, string> | null {
  return value === null ? null : (JSON.parse(value) as Record<string, string>);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function* chunks<T>(values: readonly T[]): Generator<T[]> {
  for (let start = 0; start < values.length; start += maxInList) yield values.slice(start, start + maxInList);
}
