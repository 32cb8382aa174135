import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createS3Client } from '../src/storage/s3-client.js';
import { RegistryClient, sha256 } from './helpers/http.js';
import { createTestBucket, removeTestBucket, requireS3, testS3Connection, testS3Endpoint } from './helpers/s3.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const unavailable = await requireS3();

describe('blob GET redirected to the object store', { skip: unavailable, timeout: 60_000 }, () => {
  const s3 = createS3Client(testS3Connection);
  let bucket: string;
  let server: TestServer;
  let client: RegistryClient;
  const data = randomBytes(300_000);
  let digest: string;

  before(async () => {
    bucket = await createTestBucket(s3);
    const endpoint = testS3Endpoint as string;
    server = await startTestServer({
      overrides: {
        'storage.driver': 's3',
        'storage.s3.bucket': bucket,
        'storage.s3.endpoint': endpoint,
        'storage.s3.forcePathStyle': 'true',
        'storage.s3.redirect.enabled': 'true',
        // Clients reach the store under another name than the registry does.
        'storage.s3.redirect.endpoint': endpoint.replace('127.0.0.1', 'localhost'),
        'storage.s3.redirect.expiresSeconds': '60',
      },
    });
    client = new RegistryClient(server.url);
    digest = await client.pushBlob('redirect/app', data);
  });

  after(async () => {
    await server?.close();
    await removeTestBucket(s3, bucket);
    s3.destroy();
  });

  test('GET answers 307 to a presigned URL', async () => {
    const response = await client.fetch(`/v2/redirect/app/blobs/${digest}`);
    assert.equal(response.status, 307);
    assert.equal(response.headers.get('docker-content-digest'), digest);
    const location = new URL(response.headers.get('location') as string);
    assert.equal(location.hostname, 'localhost');
    assert.match(location.search, /X-Amz-Signature=/);
    assert.match(location.search, /X-Amz-Expires=60/);
    const direct = await fetch(location);
    assert.equal(direct.status, 200);
    assert.equal(sha256(Buffer.from(await direct.arrayBuffer())), digest);
  });

  test('HEAD and ranges stay with berth', async () => {
    const head = await client.fetch(`/v2/redirect/app/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
    const range = await client.fetch(`/v2/redirect/app/blobs/${digest}`, { headers: { Range: 'bytes=10-19' } });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), data.subarray(10, 20));
  });

  test('unknown blob is not redirected', async () => {
    const missing = await client.fetch(`/v2/redirect/app/blobs/sha256:${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
  });
});
