import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { RegistryClient, expectError } from './helpers/http.js';
import { requireS3, testS3Endpoint } from './helpers/s3.js';
import { startTestServer } from './helpers/server.js';

const unavailable = await requireS3();

/** Starts berth on the test store with `overrides`, runs `check` against it, then stops it. */
async function withServer(overrides: Record<string, string>, check: (client: RegistryClient) => Promise<void>): Promise<void> {
  const server = await startTestServer({
    overrides: { 'storage.driver': 's3', 'storage.s3.endpoint': testS3Endpoint as string, 'storage.s3.forcePathStyle': 'true', ...overrides },
  });
  try {
    await check(new RegistryClient(server.url));
  } finally {
    await server.close();
  }
}

describe('misconfigured S3 storage', { skip: unavailable }, () => {
  test('missing bucket named in errors', async () => {
    const bucket = `berth-missing-${randomBytes(4).toString('hex')}`;
    await withServer({ 'storage.s3.bucket': bucket }, async (client) => {
      const ready = await client.fetch('/readyz');
      assert.equal(ready.status, 503);
      const body = (await ready.json()) as { checks: { component: string; error?: string }[] };
      assert.match(body.checks[0]?.error ?? '', new RegExp(`bucket ${bucket} does not exist: create it`));
      const error = await expectError(await client.fetch('/v2/app/blobs/uploads/', { method: 'POST' }), 503, 'UNAVAILABLE');
      assert.match(error.message, new RegExp(`bucket ${bucket} does not exist`));
    });
  });

  test('rejected credentials named in errors', async () => {
    await withServer({ 'storage.s3.bucket': 'any-bucket', 'storage.s3.accessKeyId': 'nobody', 'storage.s3.secretAccessKey': 'wrong-secret' }, async (client) => {
      const ready = await client.fetch('/readyz');
      assert.equal(ready.status, 503);
      const error = await expectError(await client.fetch('/v2/app/blobs/uploads/', { method: 'POST' }), 503, 'UNAVAILABLE');
      assert.match(error.message, /rejected the request \(403 .*\): check the credentials/);
    });
  });
});
