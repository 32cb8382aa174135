import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { expectError, sha256 } from '../helpers/http.js';
import { useTestServer } from '../helpers/server.js';

describe('blob uploads', () => {
  const fixture = useTestServer();


  async function startSession(repository: string): Promise<string> {
    const response = await fixture.client.fetch(`/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    assert.equal(response.status, 202);
    const location = response.headers.get('location');
    assert.ok(location);
    return location;
  }

  async function stagedUploads(): Promise<string[]> {
    return fixture.server.registry.services.driver.list('uploads');
  }

  test('POST starts a session', async () => {
    const response = await fixture.client.fetch('/v2/up/start/blobs/uploads/', { method: 'POST' });
    assert.equal(response.status, 202);
    const location = response.headers.get('location') ?? '';
    const uuid = response.headers.get('docker-upload-uuid') ?? '';
    assert.match(location, /^\/v2\/up\/start\/blobs\/uploads\/[0-9a-f-]{36}$/);
    assert.ok(location.endsWith(uuid));
    assert.equal(response.headers.get('range'), '0-0');
    assert.equal(response.headers.get('content-length'), '0');
  });

  test('monolithic POST with digest', async () => {
    const data = randomBytes(5000);
    const digest = sha256(data);
    const response = await fixture.client.fetch(`/v2/up/mono/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: data,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('location'), `/v2/up/mono/blobs/${digest}`);
    assert.equal(response.headers.get('docker-content-digest'), digest);
    const blob = await fixture.client.fetch(`/v2/up/mono/blobs/${digest}`);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), data);
  });

  test('monolithic POST with wrong digest', async () => {
    const data = randomBytes(100);
    const wrong = sha256('something else');
    const stagedBefore = await stagedUploads();
    const response = await fixture.client.fetch(`/v2/up/mono-bad/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: data });
    await expectError(response, 400, 'DIGEST_INVALID');
    await expectError(await fixture.client.fetch(`/v2/up/mono-bad/blobs/${wrong}`, { method: 'GET' }), 404, 'BLOB_UNKNOWN');
    assert.deepEqual(await stagedUploads(), stagedBefore);
  });

  test('chunked upload in order', async () => {
    const data = randomBytes(300_000);
    let location = await startSession('up/chunked');
    const chunks = [data.subarray(0, 100_000), data.subarray(100_000, 250_000), data.subarray(250_000)];
    let offset = 0;
    for (const chunk of chunks) {
      const response = await fixture.client.fetch(location, {
        method: 'PATCH',
        body: chunk,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}` },
      });
      assert.equal(response.status, 202, await response.text());
      offset += chunk.length;
      assert.equal(response.headers.get('range'), `0-${offset - 1}`);
      location = response.headers.get('location') ?? location;
    }
    const status = await fixture.client.fetch(location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${data.length - 1}`);
    const done = await fixture.client.fetch(`${location}?digest=${sha256(data)}`, { method: 'PUT' });
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('docker-content-digest'), sha256(data));
    const blob = await fixture.client.fetch(`/v2/up/chunked/blobs/${sha256(data)}`);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), data);
  });

  test('out-of-order chunk gets 416', async () => {
    const location = await startSession('up/order');
    const first = randomBytes(1000);
    const ok = await fixture.client.fetch(location, { method: 'PATCH', body: first, headers: { 'Content-Range': '0-999' } });
    assert.equal(ok.status, 202);
    const skipped = await fixture.client.fetch(location, { method: 'PATCH', body: randomBytes(10), headers: { 'Content-Range': '2000-2009' } });
    await expectError(skipped, 416, 'BLOB_UPLOAD_INVALID');
    assert.equal(skipped.headers.get('range'), '0-999');
    const overlapping = await fixture.client.fetch(location, { method: 'PATCH', body: randomBytes(10), headers: { 'Content-Range': '500-509' } });
    assert.equal(overlapping.status, 416);
    const status = await fixture.client.fetch(location);
    assert.equal(status.headers.get('range'), '0-999');
    const done = await fixture.client.fetch(`${location}?digest=${sha256(first)}`, { method: 'PUT' });
    assert.equal(done.status, 201);
  });

  test('PATCH without Content-Range streams', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 17);
    const location = await startSession('up/stream');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < data.length; offset += 65_536) controller.enqueue(data.subarray(offset, offset + 65_536));
        controller.close();
      },
    });
    const patched = await fixture.client.fetch(location, { method: 'PATCH', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(patched.status, 202);
    assert.equal(patched.headers.get('range'), `0-${data.length - 1}`);
    const done = await fixture.client.fetch(`${patched.headers.get('location')}?digest=${sha256(data)}`, { method: 'PUT' });
    assert.equal(done.status, 201);
  });

  test('PUT with final chunk', async () => {
    const data = randomBytes(4096);
    const location = await startSession('up/final');
    const first = await fixture.client.fetch(location, { method: 'PATCH', body: data.subarray(0, 1000), headers: { 'Content-Range': '0-999' } });
    assert.equal(first.status, 202);
    const done = await fixture.client.fetch(`${location}?digest=${sha256(data)}`, {
      method: 'PUT',
      body: data.subarray(1000),
      headers: { 'Content-Range': `1000-${data.length - 1}` },
    });
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('location'), `/v2/up/final/blobs/${sha256(data)}`);
  });

  test('zero-length blob', async () => {
    const empty = Buffer.alloc(0);
    const location = await startSession('up/empty');
    const done = await fixture.client.fetch(`${location}?digest=${sha256(empty)}`, { method: 'PUT' });
    assert.equal(done.status, 201);
    const head = await fixture.client.fetch(`/v2/up/empty/blobs/${sha256(empty)}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '0');
    const get = await fixture.client.fetch(`/v2/up/empty/blobs/${sha256(empty)}`);
    assert.equal((await get.arrayBuffer()).byteLength, 0);
  });

  test('digest mismatch keeps nothing', async () => {
    const data = randomBytes(10_000);
    const stagedBefore = await stagedUploads();
    const location = await startSession('up/mismatch');
    await fixture.client.fetch(location, { method: 'PATCH', body: data, headers: { 'Content-Range': `0-${data.length - 1}` } });
    const wrong = sha256(Buffer.concat([data, Buffer.from('x')]));
    const error = await expectError(await fixture.client.fetch(`${location}?digest=${wrong}`, { method: 'PUT' }), 400, 'DIGEST_INVALID');
    assert.match(error.message, new RegExp(wrong));
    await expectError(await fixture.client.fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fixture.client.fetch(`/v2/up/mismatch/blobs/${wrong}`, { method: 'GET' }), 404, 'BLOB_UNKNOWN');
    await expectError(await fixture.client.fetch(`/v2/up/mismatch/blobs/${sha256(data)}`, { method: 'GET' }), 404, 'BLOB_UNKNOWN');
    assert.deepEqual(await stagedUploads(), stagedBefore);
  });

  test('sha512 digest', async () => {
    const data = randomBytes(777);
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const location = await startSession('up/sha512');
    const done = await fixture.client.fetch(`${location}?digest=${digest}`, { method: 'PUT', body: data });
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('docker-content-digest'), digest);
    const blob = await fixture.client.fetch(`/v2/up/sha512/blobs/${digest}`);
    assert.equal(blob.status, 200);
    assert.deepEqual(Buffer.from(await blob.arrayBuffer()), data);
  });

  test('DELETE cancels a session', async () => {
    const location = await startSession('up/cancel');
    await fixture.client.fetch(location, { method: 'PATCH', body: randomBytes(100), headers: { 'Content-Range': '0-99' } });
    const cancelled = await fixture.client.fetch(location, { method: 'DELETE' });
    assert.equal(cancelled.status, 204);
    await expectError(await fixture.client.fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fixture.client.fetch(location, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.ok(!(await stagedUploads()).includes(location.split('/').pop() ?? ''));
  });

  test('unknown or foreign session', async () => {
    await expectError(await fixture.client.fetch('/v2/up/x/blobs/uploads/not-a-uuid'), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fixture.client.fetch('/v2/up/x/blobs/uploads/6f0c2a8e-0a52-4a5e-9d8b-6d7c2f0b1a11'), 404, 'BLOB_UPLOAD_UNKNOWN');
    const location = await startSession('up/owner');
    const uuid = location.split('/').pop() ?? '';
    await expectError(await fixture.client.fetch(`/v2/up/intruder/blobs/uploads/${uuid}`), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(
      await fixture.client.fetch(`/v2/up/intruder/blobs/uploads/${uuid}`, { method: 'PATCH', body: 'x', headers: { 'Content-Range': '0-0' } }),
      404,
      'BLOB_UPLOAD_UNKNOWN',
    );
  });

  test('PUT without digest', async () => {
    const location = await startSession('up/nodigest');
    await expectError(await fixture.client.fetch(location, { method: 'PUT' }), 400, 'DIGEST_INVALID');
    await expectError(await fixture.client.fetch(`${location}?digest=md5:abc`, { method: 'PUT' }), 400, 'UNSUPPORTED');
    await expectError(await fixture.client.fetch(`${location}?digest=sha256:xyz`, { method: 'PUT' }), 400, 'DIGEST_INVALID');
    assert.equal((await fixture.client.fetch(location)).status, 204);
  });

  test('malformed Content-Range', async () => {
    const location = await startSession('up/badrange');
    for (const header of ['abc', '10-5', '-5', 'bytes=1-', '99999999999999999-1']) {
      await expectError(
        await fixture.client.fetch(location, { method: 'PATCH', body: 'x', headers: { 'Content-Range': header } }),
        400,
        'BLOB_UPLOAD_INVALID',
      );
    }
    assert.equal((await fixture.client.fetch(location)).headers.get('range'), '0-0');
  });

  test('Content-Range and length disagree', async () => {
    const location = await startSession('up/lengths');
    const response = await fixture.client.fetch(location, { method: 'PATCH', body: randomBytes(10), headers: { 'Content-Range': '0-19' } });
    await expectError(response, 400, 'SIZE_INVALID');
    assert.equal((await fixture.client.fetch(location)).headers.get('range'), '0-0');
  });

  test('mount from another repository', async () => {
    const digest = await fixture.client.pushBlob('up/source', randomBytes(3000));
    const mounted = await fixture.client.fetch(`/v2/up/target/blobs/uploads/?mount=${digest}&from=up/source`, { method: 'POST' });
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get('location'), `/v2/up/target/blobs/${digest}`);
    assert.equal(mounted.headers.get('docker-content-digest'), digest);
    assert.equal((await fixture.client.fetch(`/v2/up/target/blobs/${digest}`, { method: 'HEAD' })).status, 200);
  });

  test('mount without from', async () => {
    const digest = await fixture.client.pushBlob('up/anywhere', randomBytes(3000));
    const mounted = await fixture.client.fetch(`/v2/up/auto-target/blobs/uploads/?mount=${digest}`, { method: 'POST' });
    assert.equal(mounted.status, 201);
    assert.equal((await fixture.client.fetch(`/v2/up/auto-target/blobs/${digest}`, { method: 'HEAD' })).status, 200);
  });

  test('mount of missing blob starts session', async () => {
    const missing = sha256('never pushed');
    const fromElsewhere = await fixture.client.fetch(`/v2/up/m2/blobs/uploads/?mount=${missing}&from=up/source`, { method: 'POST' });
    assert.equal(fromElsewhere.status, 202);
    assert.match(fromElsewhere.headers.get('location') ?? '', /\/v2\/up\/m2\/blobs\/uploads\//);
    const digest = await fixture.client.pushBlob('up/other-source', randomBytes(10));
    const wrongSource = await fixture.client.fetch(`/v2/up/m3/blobs/uploads/?mount=${digest}&from=up/source`, { method: 'POST' });
    assert.equal(wrongSource.status, 202);
  });

  test('mount with bad parameters', async () => {
    await expectError(await fixture.client.fetch('/v2/up/m4/blobs/uploads/?mount=sha256:zz&from=up/source', { method: 'POST' }), 400, 'DIGEST_INVALID');
    await expectError(await fixture.client.fetch(`/v2/up/m4/blobs/uploads/?mount=${sha256('a')}&from=UP/Bad`, { method: 'POST' }), 400, 'NAME_INVALID');
  });

  test('concurrent pushes of one blob', async () => {
    const data = randomBytes(512 * 1024);
    const repositories = Array.from({ length: 8 }, (_, index) => `up/race-${index}`);
    const digests = await Promise.all(repositories.map((repository) => fixture.client.pushBlob(repository, data)));
    assert.ok(digests.every((digest) => digest === sha256(data)));
    for (const repository of repositories) {
      const blob = await fixture.client.fetch(`/v2/${repository}/blobs/${sha256(data)}`);
      assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data));
    }
    const hex = sha256(data).slice('sha256:'.length);
    const stored = await fixture.server.registry.services.driver.list(`blobs/sha256/${hex.slice(0, 2)}`);
    assert.deepEqual(stored.filter((name) => name === hex), [hex]);
  });

  test('invalid Content-Length header', async () => {
    const location = await startSession('up/badlength');
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${fixture.server.url}${location}`);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PATCH', headers: { 'Content-Length': '-1' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 400);
  });
});
