import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { RegistryError } from '../src/errors.js';
import { openPostgresStore } from '../src/metadata/postgres.js';
import type { SqlMetadataStore } from '../src/metadata/sql-store.js';
import { UploadService } from '../src/registry/uploads.js';
import { FilesystemDriver } from '../src/storage/filesystem.js';
import { dropTestSchema, postgresUnavailable, testPostgresOptions } from './helpers/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI === 'true') throw new Error(`${unavailable} (CI=true, so a missing database fails the tests)`);

const silent = pino({ level: 'silent' });

describe('upload leases between nodes', { skip: unavailable }, () => {
  const options = testPostgresOptions();
  let store: SqlMetadataStore;
  let root: string;
  let node: UploadService;

  before(async () => {
    store = openPostgresStore(options, silent);
    await store.migrate();
    root = await mkdtemp(join(tmpdir(), 'berth-leases-'));
    node = new UploadService(new FilesystemDriver(root), store, silent, { ttlMs: 2_000 });
  });
  after(async () => {
    await store.close();
    await dropTestSchema(options.schema);
    await rm(root, { recursive: true, force: true });
  });

  test('chunk for a session leased elsewhere gets 409', async () => {
    const upload = await node.start('leases/busy');
    assert.equal(await store.leaseUpload(upload.id, 'other-node', Date.now() + 60_000, Date.now()), true);
    await assert.rejects(
      node.append('leases/busy', upload.id, { body: Readable.from([randomBytes(10)]) }),
      (error: unknown) => error instanceof RegistryError && error.status === 409 && /another node/.test(error.message),
    );
    assert.equal((await store.getUpload(upload.id))?.size, 0);
  });

  test('expired lease of a dead node is taken over', async () => {
    const upload = await node.start('leases/expired');
    assert.equal(await store.leaseUpload(upload.id, 'dead-node', Date.now() - 1, Date.now() - 10_000), true);
    const advanced = await node.append('leases/expired', upload.id, { body: Readable.from([randomBytes(10)]) });
    assert.equal(advanced.size, 10);
    // The lease is given back once the chunk is recorded.
    assert.equal(await store.leaseUpload(upload.id, 'next-node', Date.now() + 1_000, Date.now()), true);
  });

  test('purge skips sessions leased elsewhere', async () => {
    const busy = await node.start('leases/purge');
    const idle = await node.start('leases/purge');
    assert.equal(await store.leaseUpload(busy.id, 'other-node', Date.now() + 60_000, Date.now()), true);
    const purged = await node.purgeStale(Date.now() + 1_000);
    assert.ok(purged >= 1);
    assert.equal(await store.getUpload(idle.id), undefined);
    assert.ok(await store.getUpload(busy.id));
  });
});
