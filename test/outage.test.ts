import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { RegistryClient, expectError } from './helpers/http.js';
import { dropTestSchema, postgresUnavailable, testPostgresOptions, testPostgresUrl } from './helpers/postgres.js';
import { createTestBucket, removeTestBucket, s3Unavailable, testS3Connection, testS3Endpoint } from './helpers/s3.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';
import { createS3Client } from '../src/storage/s3-client.js';

const missing: string[] = [];
for (const reason of [await postgresUnavailable(), await s3Unavailable()]) if (reason) missing.push(reason);
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`outage tests need: ${missing.join('; ')} (CI=true, so they fail)`);
const skip = missing.length > 0 ? `outage tests need: ${missing.join('; ')}` : undefined;

describe('PostgreSQL or S3 going away', { skip, timeout: 120_000 }, () => {
  const s3 = createS3Client(testS3Connection);
  let database: TcpProxy;
  let objectStore: TcpProxy;
  let server: TestServer;
  let client: RegistryClient;
  let schema: string;
  let bucket: string;

  before(async () => {
    const postgres = new URL(testPostgresUrl);
    const endpoint = new URL(testS3Endpoint as string);
    database = await TcpProxy.start(postgres.hostname, Number(postgres.port || 5432));
    objectStore = await TcpProxy.start(endpoint.hostname, Number(endpoint.port || 80));
    postgres.port = String(database.port);
    schema = testPostgresOptions().schema;
    bucket = await createTestBucket(s3);
    server = await startTestServer({
      overrides: {
        'metadata.driver': 'postgres',
        'metadata.postgres.url': postgres.toString(),
        'metadata.postgres.schema': schema,
        'metadata.postgres.connectTimeoutSeconds': '1',
        'metadata.postgres.statementTimeoutSeconds': '2',
        'storage.s3.timeoutSeconds': '2',
        'storage.driver': 's3',
        'storage.s3.bucket': bucket,
        'storage.s3.endpoint': `http://127.0.0.1:${objectStore.port}`,
        'storage.s3.forcePathStyle': 'true',
      },
    });
    client = new RegistryClient(server.url);
  });

  after(async () => {
    await server?.close();
    await database?.cut();
    await objectStore?.cut();
    await dropTestSchema(schema);
    await removeTestBucket(s3, bucket);
    s3.destroy();
  });

  test('database outage answers 503 and recovers', async () => {
    const image = await client.pushImage('outage/db', 'v1');
    await database.cut();
    const ready = await client.fetch('/readyz');
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { checks: { component: string; ok: boolean }[] };
    assert.deepEqual(body.checks.map((check) => [check.component, check.ok]), [['storage:s3', true], ['metadata:postgres', false]]);
    const error = await expectError(await client.fetch('/v2/outage/db/manifests/v1'), 503, 'UNAVAILABLE');
    assert.match(error.message, /metadata database postgres is unreachable.*retry later/);
    await expectError(await client.fetch('/v2/outage/db/blobs/uploads/', { method: 'POST' }), 503, 'UNAVAILABLE');

    await database.restore();
    const manifest = await eventually(10, async () => {
      const response = await client.fetch('/v2/outage/db/manifests/v1');
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      return response;
    }, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), image.digest);
    assert.equal((await client.fetch('/readyz')).status, 200);
  });

  test('object store outage answers 503 and recovers', async () => {
    const data = randomBytes(64 * 1024);
    const digest = await client.pushBlob('outage/s3', data);
    await objectStore.cut();
    const ready = await client.fetch('/readyz');
    assert.equal(ready.status, 503);
    const error = await expectError(await client.fetch(`/v2/outage/s3/blobs/${digest}`), 503, 'UNAVAILABLE');
    assert.match(error.message, /object store bucket .* is unreachable/);
    const head = await client.fetch(`/v2/outage/s3/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);

    await objectStore.restore();
    const blob = await eventually(10, async () => {
      const response = await client.fetch(`/v2/outage/s3/blobs/${digest}`);
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    }, 200);
    assert.deepEqual(blob, data);
  });

  test('stalled database answers 503 in bounded time', async () => {
    const image = await client.pushImage('outage/db-stall', 'v1');
    database.stall();
    try {
      const started = Date.now();
      await expectError(await client.fetch('/v2/outage/db-stall/manifests/v1'), 503, 'UNAVAILABLE');
      assert.ok(Date.now() - started < 15_000, `the request took ${Date.now() - started} ms`);
      const readyStarted = Date.now();
      assert.equal((await client.fetch('/readyz')).status, 503);
      assert.ok(Date.now() - readyStarted < 8_000, `/readyz took ${Date.now() - readyStarted} ms`);
    } finally {
      database.resume();
    }
    const manifest = await eventually(15, async () => {
      const response = await client.fetch('/v2/outage/db-stall/manifests/v1');
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      return response;
    }, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), image.digest);
  });

  test('stalled object store answers 503 in bounded time', async () => {
    const data = randomBytes(32 * 1024);
    const digest = await client.pushBlob('outage/s3-stall', data);
    objectStore.stall();
    try {
      const started = Date.now();
      await expectError(await client.fetch(`/v2/outage/s3-stall/blobs/${digest}`), 503, 'UNAVAILABLE');
      assert.ok(Date.now() - started < 30_000, `the request took ${Date.now() - started} ms`);
      const readyStarted = Date.now();
      assert.equal((await client.fetch('/readyz')).status, 503);
      assert.ok(Date.now() - readyStarted < 8_000, `/readyz took ${Date.now() - readyStarted} ms`);
    } finally {
      objectStore.resume();
    }
    const blob = await eventually(15, async () => {
      const response = await client.fetch(`/v2/outage/s3-stall/blobs/${digest}`);
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    }, 200);
    assert.deepEqual(blob, data);
  });
});
