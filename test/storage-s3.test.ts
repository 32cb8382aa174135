import { test } from 'node:test';
import { S3Driver } from '../src/storage/s3.js';
import { createS3Client } from '../src/storage/s3-client.js';
import { createTestBucket, removeTestBucket, requireS3, testS3Connection } from './helpers/s3.js';
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
