import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { openSqliteStore } from '../src/metadata/sqlite.js';
import type { SqlMetadataStore } from '../src/metadata/sql-store.js';
import { UploadService } from '../src/registry/uploads.js';
import { FilesystemDriver } from '../src/storage/filesystem.js';

const silent = pino({ level: 'silent' });

/** A filesystem driver that counts the reads of staged upload bytes. */
class CountingDriver extends FilesystemDriver {
  uploadReads = 0;

  override async read(path: string, range?: { offset: number; length: number }): Promise<Readable> {
    if (path.startsWith('uploads/')) this.uploadReads += 1;
    return super.read(path, range);
  }
}

describe('upload sessions across two services', () => {
  let root: string;
  let store: SqlMetadataStore;
  let driver: CountingDriver;
  let first: UploadService;
  let second: UploadService;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-upload-nodes-'));
    store = openSqliteStore(join(root, 'metadata.db'));
    await store.migrate();
    driver = new CountingDriver(join(root, 'storage'));
    // Two services on one store and one driver stand for two nodes behind a balancer.
    first = new UploadService(driver, store, silent);
    second = new UploadService(driver, store, silent);
  });
  after(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  test('PUT on another node hashes while receiving', async () => {
    const data = randomBytes(256 * 1024);
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const upload = await first.start('nodes/mono');
    driver.uploadReads = 0;
    const blob = await second.complete('nodes/mono', upload.id, digest, { body: Readable.from([data]), contentLength: data.length });
    assert.equal(blob.digest.value, digest);
    assert.equal(driver.uploadReads, 0);
  });

  test('chunks on two nodes read staged bytes once', async () => {
    const parts = [randomBytes(100_000), randomBytes(50_000)];
    const digest = `sha256:${createHash('sha256').update(Buffer.concat(parts)).digest('hex')}`;
    const upload = await first.start('nodes/chunked');
    await second.append('nodes/chunked', upload.id, { body: Readable.from([parts[0] as Buffer]) });
    driver.uploadReads = 0;
    const blob = await first.complete('nodes/chunked', upload.id, digest, { body: Readable.from([parts[1] as Buffer]) });
    assert.equal(blob.size, 150_000);
    assert.equal(driver.uploadReads, 1);
  });
});
