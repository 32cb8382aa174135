import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { expectError, sha256 } from '../helpers/http.js';
import { useTestServer } from '../helpers/server.js';

describe('blob reads and deletes', () => {
  const fixture = useTestServer();
  const data = randomBytes(10_000);
  let digest: string;

  before(async () => {
    digest = await fixture.client.pushBlob('blobs/read', data);
  });

  test('GET returns bytes and headers', async () => {
    const response = await fixture.client.fetch(`/v2/blobs/read/blobs/${digest}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(data.length));
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), data);
  });

  test('GET of content missing from storage', async () => {
    const lost = randomBytes(3000);
    const lostDigest = await fixture.client.pushBlob('blobs/lost', lost);
    const hex = lostDigest.slice('sha256:'.length);
    await fixture.server.registry.services.driver.delete(`blobs/sha256/${hex.slice(0, 2)}/${hex}`);
    const response = await fixture.client.fetch(`/v2/blobs/lost/blobs/${lostDigest}`);
    await expectError(response, 404, 'BLOB_UNKNOWN');
    assert.equal(response.headers.get('cache-control'), null);
    assert.equal(response.headers.get('etag'), null);
    assert.equal(response.headers.get('content-type'), 'application/json');
  });

  test('GET of large blob abandoned midway', async () => {
    const large = randomBytes(24 * 1024 * 1024);
    const largeDigest = await fixture.client.pushBlob('blobs/abandoned', large);
    const controller = new AbortController();
    const response = await fixture.client.fetch(`/v2/blobs/abandoned/blobs/${largeDigest}`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined);
    const again = await fixture.client.fetch(`/v2/blobs/abandoned/blobs/${largeDigest}`);
    assert.equal(again.status, 200);
    assert.equal(sha256(Buffer.from(await again.arrayBuffer())), largeDigest);
  });

  test('HEAD returns headers only', async () => {
    const response = await fixture.client.fetch(`/v2/blobs/read/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(data.length));
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.equal((await response.arrayBuffer()).byteLength, 0);
  });

  const ranges: [string, number, number][] = [
    ['bytes=0-99', 0, 99],
    ['bytes=100-', 100, 9_999],
    ['bytes=-500', 9_500, 9_999],
    ['bytes=9999-9999', 9_999, 9_999],
    ['bytes=9000-20000', 9_000, 9_999],
    ['bytes=-20000', 0, 9_999],
  ];
  for (const [header, first, last] of ranges) {
    test(`range ${header}`, async () => {
      const response = await fixture.client.fetch(`/v2/blobs/read/blobs/${digest}`, { headers: { Range: header } });
      assert.equal(response.status, 206);
      assert.equal(response.headers.get('content-range'), `bytes ${first}-${last}/${data.length}`);
      assert.equal(response.headers.get('content-length'), String(last - first + 1));
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), data.subarray(first, last + 1));
    });
  }

  for (const header of ['bytes=10000-', 'bytes=20000-20010', 'bytes=-0', 'bytes=50-10', 'bytes=0-1,5-6', 'bytes=abc']) {
    test(`unsatisfiable range ${header}`, async () => {
      const response = await fixture.client.fetch(`/v2/blobs/read/blobs/${digest}`, { headers: { Range: header } });
      await expectError(response, 416, 'RANGE_INVALID');
      assert.equal(response.headers.get('content-range'), `bytes */${data.length}`);
    });
  }

  test('range in another unit ignored', async () => {
    const response = await fixture.client.fetch(`/v2/blobs/read/blobs/${digest}`, { headers: { Range: 'items=0-1' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(data.length));
    await response.arrayBuffer();
  });

  test('unknown blob', async () => {
    const error = await expectError(await fixture.client.fetch(`/v2/blobs/read/blobs/${sha256('missing')}`), 404, 'BLOB_UNKNOWN');
    assert.match(error.message, new RegExp(sha256('missing')));
    const head = await fixture.client.fetch(`/v2/blobs/read/blobs/${sha256('missing')}`, { method: 'HEAD' });
    assert.equal(head.status, 404);
  });

  test('blob of another repository', async () => {
    await expectError(await fixture.client.fetch(`/v2/blobs/other/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  test('malformed digests', async () => {
    for (const value of ['sha256:abc', 'sha256:' + 'A'.repeat(64), 'nodigest', 'sha256:' + 'g'.repeat(64), 'sha256:']) {
      await expectError(await fixture.client.fetch(`/v2/blobs/read/blobs/${value}`), 400, 'DIGEST_INVALID');
    }
    await expectError(await fixture.client.fetch(`/v2/blobs/read/blobs/md5:${'a'.repeat(32)}`), 400, 'UNSUPPORTED');
  });

  test('DELETE unlinks from one repository', async () => {
    const shared = randomBytes(1000);
    const value = await fixture.client.pushBlob('blobs/del-a', shared);
    await fixture.client.pushBlob('blobs/del-b', shared);
    const deleted = await fixture.client.fetch(`/v2/blobs/del-a/blobs/${value}`, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    await expectError(await fixture.client.fetch(`/v2/blobs/del-a/blobs/${value}`), 404, 'BLOB_UNKNOWN');
    assert.equal((await fixture.client.fetch(`/v2/blobs/del-b/blobs/${value}`)).status, 200);
    await expectError(await fixture.client.fetch(`/v2/blobs/del-a/blobs/${value}`, { method: 'DELETE' }), 404, 'BLOB_UNKNOWN');
  });

  test('POST and PATCH not allowed on blob', async () => {
    const response = await fixture.client.fetch(`/v2/blobs/read/blobs/${digest}`, { method: 'PATCH', body: 'x' });
    await expectError(response, 405, 'UNSUPPORTED');
    assert.match(response.headers.get('allow') ?? '', /GET/);
  });
});
