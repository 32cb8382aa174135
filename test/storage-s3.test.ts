import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { S3Driver } from '../src/storage/s3.js';
import { createS3Client } from '../src/storage/s3-client.js';
import { createTestBucket, listAllKeys, listOpenUploads, removeTestBucket, requireS3, testS3Connection } from './helpers/s3.js';
import { runStorageDriverSuite } from './storage-driver-suite.js';

const unavailable = await requireS3();

if (unavailable) {
  test('storage driver s3', (t) => t.skip(unavailable));
} else {
  runStorageDriverSuite('s3', async () => {
    const client = createS3Client(testS3Connection);
    const bucket = await createTestBucket(client);
    // The smallest part size S3 allows, so the suite's few-MiB objects take the multipart path.
    const driver = new S3Driver({ ...testS3Connection, bucket, prefix: 'registry', partSize: 5 * 1024 * 1024 });
    return {
      driver,
      async cleanup() {
        await removeTestBucket(client, bucket);
        client.destroy();
      },
    };
  });
}

/** Reads a whole stream into one buffer. */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

describe('s3 driver segments and multipart uploads', { skip: unavailable }, () => {
  const client = createS3Client(testS3Connection);
  const partSize = 5 * 1024 * 1024;
  let bucket: string;
  let driver: S3Driver;

  before(async () => {
    bucket = await createTestBucket(client);
    driver = new S3Driver({ ...testS3Connection, bucket, prefix: '', partSize });
  });
  after(async () => {
    await removeTestBucket(client, bucket);
    client.destroy();
  });

  test('segments of mixed sizes join into one object', async () => {
    const pieces = [randomBytes(partSize + 123), randomBytes(1024), randomBytes(partSize + 7), randomBytes(100), randomBytes(2 * partSize)];
    let offset = 0;
    for (const piece of pieces) {
      const writer = await driver.writer('uploads/mixed', offset);
      await writer.write(piece);
      await writer.close();
      offset += piece.length;
    }
    await driver.move('uploads/mixed', 'blobs/mixed');
    const joined = Buffer.concat(pieces);
    assert.deepEqual(await readAll(await driver.read('blobs/mixed')), joined);
    assert.deepEqual(await readAll(await driver.read('blobs/mixed', { offset: partSize, length: 5000 })), joined.subarray(partSize, partSize + 5000));
    const keys = await listAllKeys(client, bucket);
    assert.deepEqual(keys.filter((key) => key.startsWith('uploads/mixed')), []);
    assert.deepEqual(await listOpenUploads(client, bucket), []);
  });

  test('cancelled multipart writer leaves nothing behind', async () => {
    const writer = await driver.writer('uploads/cancelled', 0);
    await writer.write(randomBytes(3 * partSize));
    await writer.cancel();
    assert.deepEqual((await listAllKeys(client, bucket)).filter((key) => key.startsWith('uploads/cancelled/.part')), []);
    assert.deepEqual(await listOpenUploads(client, bucket), []);
  });

  test('delete aborts multipart uploads left by a dead writer', async () => {
    const writer = await driver.writer('uploads/orphan', 0);
    await writer.write(randomBytes(2 * partSize));
    // The process dies here: the writer is never closed, so its multipart upload stays open.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok((await listOpenUploads(client, bucket)).some((key) => key.startsWith('uploads/orphan/')));
    await driver.delete('uploads/orphan');
    assert.deepEqual(await listOpenUploads(client, bucket), []);
  });

  test('stale segment from an interrupted write is ignored', async () => {
    const first = randomBytes(1000);
    const writer = await driver.writer('uploads/stale', 0);
    await writer.write(first);
    await writer.close();
    // A chunk stored but never recorded in the metadata (its request failed after the write).
    const lost = await driver.writer('uploads/stale', 1000);
    await lost.write(randomBytes(500));
    await lost.close();
    const retry = await driver.writer('uploads/stale', 1000);
    const second = randomBytes(700);
    await retry.write(second);
    await retry.close();
    assert.deepEqual(await readAll(await driver.read('uploads/stale', { offset: 0, length: 1700 })), Buffer.concat([first, second]));
    assert.equal((await driver.stat('uploads/stale')).size, 1700);
  });
});
