import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** SQL dialects the metadata store runs on. */
export type SqlDialectName = 'sqlite' | 'postgres';

/**
 * Returns the versioned schema migrations, applied in name order. A migration that has shipped
 * is never edited: a schema change is a new entry.
 */
export function migrationProvider(dialect: SqlDialectName): MigrationProvider {
  const binary = sql.raw(dialect === 'postgres' ? 'bytea' : 'blob');
  // Names sort in ASCII (byte) order on both databases, as the distribution-spec's pagination needs.
  const sortedText = sql.raw(dialect === 'postgres' ? 'text collate "C"' : 'text');
  const migrations: Record<string, Migration> = {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('repositories')
          .addColumn('name', sortedText, (column) => column.primaryKey())
          .addColumn('created_at', 'bigint', (column) => column.notNull())
          .execute();

        await db.schema
          .createTable('blobs')
          .addColumn('digest', 'text', (column) => column.primaryKey())
          .addColumn('size', 'bigint', (column) => column.notNull())
          .addColumn('created_at', 'bigint', (column) => column.notNull())
          .execute();

        await db.schema
          .createTable('repository_blobs')
          .addColumn('repository', 'text', (column) => column.notNull())
          .addColumn('digest', 'text', (column) => column.notNull())
          .addColumn('created_at', 'bigint', (column) => column.notNull())
          .addPrimaryKeyConstraint('repository_blobs_pk', ['repository', 'digest'])
          .execute();
        await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

        await db.schema
          .createTable('manifests')
          .addColumn('repository', 'text', (column) => column.notNull())
          .addColumn('digest', 'text', (column) => column.notNull())
          .addColumn('media_type', 'text', (column) => column.notNull())
          .addColumn('size', 'bigint', (column) => column.notNull())
          .addColumn('content', binary, (column) => column.notNull())
          .addColumn('artifact_type', 'text')
          .addColumn('subject', 'text')
          .addColumn('annotations', 'text')
          .addColumn('created_at', 'bigint', (column) => column.notNull())
          .addPrimaryKeyConstraint('manifests_pk', ['repository', 'digest'])
          .execute();
        await db.schema.createIndex('manifests_subject').on('manifests').columns(['repository', 'subject']).execute();

        await db.schema
          .createTable('manifest_references')
          .addColumn('repository', 'text', (column) => column.notNull())
          .addColumn('manifest', 'text', (column) => column.notNull())
          .addColumn('child', 'text', (column) => column.notNull())
          .addColumn('kind', 'text', (column) => column.notNull())
          .addPrimaryKeyConstraint('manifest_references_pk', ['repository', 'manifest', 'child'])
          .execute();
        await db.schema.createIndex('manifest_references_child').on('manifest_references').columns(['repository', 'child']).execute();

        await db.schema
          .createTable('tags')
          .addColumn('repository', 'text', (column) => column.notNull())
          .addColumn('name', sortedText, (column) => column.notNull())
          .addColumn('digest', 'text', (column) => column.notNull())
          .addColumn('updated_at', 'bigint', (column) => column.notNull())
          .addPrimaryKeyConstraint('tags_pk', ['repository', 'name'])
          .execute();
        await db.schema.createIndex('tags_digest').on('tags').columns(['repository', 'digest']).execute();

        await db.schema
          .createTable('uploads')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('repository', 'text', (column) => column.notNull())
          .addColumn('size', 'bigint', (column) => column.notNull())
          .addColumn('created_at', 'bigint', (column) => column.notNull())
          .addColumn('updated_at', 'bigint', (column) => column.notNull())
          .execute();
        await db.schema.createIndex('uploads_updated_at').on('uploads').column('updated_at').execute();
      },
    },
    '0002_upload_leases': {
      async up(db: Kysely<unknown>) {
        // The node writing an upload's next chunk holds its lease until the chunk is recorded.
        await db.schema.alterTable('uploads').addColumn('lease_holder', 'text').execute();
        await db.schema.alterTable('uploads').addColumn('lease_expires', 'bigint').execute();
      },
    },
  };
  return { getMigrations: async () => migrations };
}
