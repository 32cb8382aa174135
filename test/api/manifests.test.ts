import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  dockerManifest,
  dockerManifestList,
  emptyConfig,
  expectError,
  artifactManifest,
  imageManifest,
  ociIndex,
  ociManifest,
  sha256,
} from '../helpers/http.js';
import { useTestServer } from '../helpers/server.js';

describe('manifests', () => {
  const fixture = useTestServer({ overrides: { 'limits.manifestMaxBytes': String(64 * 1024) } });


  test('PUT by tag then GET and HEAD', async () => {
    const image = await fixture.client.pushImage('man/basic', 'v1');
    for (const reference of ['v1', image.digest]) {
      const get = await fixture.client.fetch(`/v2/man/basic/manifests/${reference}`, { headers: { Accept: ociManifest } });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('content-type'), ociManifest);
      assert.equal(get.headers.get('docker-content-digest'), image.digest);
      assert.equal(get.headers.get('content-length'), String(image.size));
      assert.equal(await get.text(), image.text);
      const head = await fixture.client.fetch(`/v2/man/basic/manifests/${reference}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(image.size));
      assert.equal(head.headers.get('docker-content-digest'), image.digest);
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    }
  });

  test('PUT response headers', async () => {
    const config = await fixture.client.pushBlob('man/headers', Buffer.from('{}'));
    const text = JSON.stringify(imageManifest({ digest: config, size: 2 }, []));
    const response = await fixture.client.pushManifest('man/headers', 'latest', text, ociManifest);
    assert.equal(response.headers.get('location'), `/v2/man/headers/manifests/${sha256(text)}`);
    assert.equal(response.headers.get('docker-content-digest'), sha256(text));
    assert.equal(response.headers.get('oci-subject'), null);
  });

  test('bytes kept exactly as pushed', async () => {
    const config = await fixture.client.pushBlob('man/exact', Buffer.from('{"os":"linux"}'));
    const text = `{\n   "schemaVersion" : 2,\n "mediaType":"${ociManifest}", "config": {"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${config}","size":14},"layers":[]   }\n\n`;
    await fixture.client.pushManifest('man/exact', 'spaced', text, ociManifest);
    const get = await fixture.client.fetch('/v2/man/exact/manifests/spaced');
    assert.equal(await get.text(), text);
    assert.equal(get.headers.get('docker-content-digest'), sha256(text));
  });

  test('PUT by digest', async () => {
    const config = await fixture.client.pushBlob('man/bydigest', randomBytes(50));
    const text = JSON.stringify(imageManifest({ digest: config, size: 50 }, []));
    await fixture.client.pushManifest('man/bydigest', sha256(text), text, ociManifest);
    assert.equal((await fixture.client.fetch(`/v2/man/bydigest/manifests/${sha256(text)}`)).status, 200);
    const tags = await (await fixture.client.fetch('/v2/man/bydigest/tags/list')).json();
    assert.deepEqual(tags, { name: 'man/bydigest', tags: [] });
  });

  test('PUT by sha512 digest', async () => {
    const config = await fixture.client.pushBlob('man/sha512', randomBytes(50));
    const text = JSON.stringify(imageManifest({ digest: config, size: 50 }, []));
    const digest = `sha512:${createHash('sha512').update(text).digest('hex')}`;
    const response = await fixture.client.pushManifest('man/sha512', digest, text, ociManifest);
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.equal(await (await fixture.client.fetch(`/v2/man/sha512/manifests/${digest}`)).text(), text);
  });

  test('digest in URL must match', async () => {
    const config = await fixture.client.pushBlob('man/mismatch', randomBytes(50));
    const text = JSON.stringify(imageManifest({ digest: config, size: 50 }, []));
    const response = await fixture.client.fetch(`/v2/man/mismatch/manifests/${sha256('other')}`, { method: 'PUT', body: text, headers: { 'Content-Type': ociManifest } });
    await expectError(response, 400, 'DIGEST_INVALID');
  });

  test('Docker schema 2 and manifest list', async () => {
    const config = await fixture.client.pushBlob('man/docker', randomBytes(64));
    const layer = await fixture.client.pushBlob('man/docker', randomBytes(64));
    const manifest = {
      schemaVersion: 2,
      mediaType: dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 64 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layer, size: 64 }],
    };
    const text = JSON.stringify(manifest);
    await fixture.client.pushManifest('man/docker', 'v2', text, dockerManifest);
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: dockerManifestList,
      manifests: [{ mediaType: dockerManifest, digest: sha256(text), size: text.length, platform: { architecture: 'amd64', os: 'linux' } }],
    });
    await fixture.client.pushManifest('man/docker', 'list', list, dockerManifestList);
    const get = await fixture.client.fetch('/v2/man/docker/manifests/list');
    assert.equal(get.headers.get('content-type'), dockerManifestList);
    assert.equal(await get.text(), list);
    assert.equal((await fixture.client.fetch('/v2/man/docker/manifests/v2')).headers.get('content-type'), dockerManifest);
  });

  test('OCI index of images', async () => {
    const amd = await fixture.client.pushImage('man/index', 'amd64');
    const arm = await fixture.client.pushImage('man/index', 'arm64');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: ociIndex,
      manifests: [
        { mediaType: ociManifest, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: ociManifest, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    });
    await fixture.client.pushManifest('man/index', 'multi', index, ociIndex);
    const get = await fixture.client.fetch('/v2/man/index/manifests/multi');
    assert.equal(get.headers.get('content-type'), ociIndex);
    assert.equal(await get.text(), index);
  });

  test('index with unknown child', async () => {
    const index = JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, manifests: [{ mediaType: ociManifest, digest: sha256('nope'), size: 10 }] });
    const response = await fixture.client.fetch('/v2/man/badindex/manifests/x', { method: 'PUT', body: index, headers: { 'Content-Type': ociIndex } });
    const error = await expectError(response, 400, 'MANIFEST_UNKNOWN');
    assert.match(error.message, new RegExp(sha256('nope')));
  });

  test('artifact with subject', async () => {
    const subject = await fixture.client.pushImage('man/artifact', 'app');
    await fixture.client.pushBlob('man/artifact', Buffer.from('{}'));
    const layer = await fixture.client.pushBlob('man/artifact', Buffer.from('{"spdxVersion":"SPDX-2.3"}'));
    const text = JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      artifactType: 'application/spdx+json',
      config: emptyConfig,
      layers: [{ mediaType: 'application/spdx+json', digest: layer, size: 26 }],
      subject: { mediaType: ociManifest, digest: subject.digest, size: subject.size },
    });
    const response = await fixture.client.pushManifest('man/artifact', sha256(text), text, ociManifest);
    assert.equal(response.headers.get('oci-subject'), subject.digest);
  });

  test('subject may be missing', async () => {
    await fixture.client.pushBlob('man/dangling', Buffer.from('{}'));
    const text = JSON.stringify(artifactManifest('application/example', { digest: sha256('not here yet'), size: 100 }));
    const response = await fixture.client.pushManifest('man/dangling', sha256(text), text, ociManifest);
    assert.equal(response.headers.get('oci-subject'), sha256('not here yet'));
  });

  test('missing blob rejected', async () => {
    const config = await fixture.client.pushBlob('man/missing', randomBytes(10));
    const text = JSON.stringify(imageManifest({ digest: config, size: 10 }, [{ digest: sha256('layer not pushed'), size: 5 }]));
    const response = await fixture.client.fetch('/v2/man/missing/manifests/v1', { method: 'PUT', body: text, headers: { 'Content-Type': ociManifest } });
    const error = await expectError(response, 400, 'MANIFEST_BLOB_UNKNOWN');
    assert.match(error.message, new RegExp(sha256('layer not pushed')));
  });

  test('descriptor size must match', async () => {
    const config = await fixture.client.pushBlob('man/size', randomBytes(10));
    const layer = await fixture.client.pushBlob('man/size', randomBytes(300));
    const text = JSON.stringify(imageManifest({ digest: config, size: 10 }, [{ digest: layer, size: 5 }]));
    const response = await fixture.client.fetch('/v2/man/size/manifests/v1', { method: 'PUT', body: text, headers: { 'Content-Type': ociManifest } });
    const error = await expectError(response, 400, 'MANIFEST_INVALID');
    assert.match(error.message, /layers\[0\] gives size 5/);
    assert.match(error.message, /300 bytes/);
    const child = await fixture.client.pushImage('man/size', 'child');
    const index = JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, manifests: [{ mediaType: ociManifest, digest: child.digest, size: child.size + 1 }] });
    const indexResponse = await fixture.client.fetch('/v2/man/size/manifests/index', { method: 'PUT', body: index, headers: { 'Content-Type': ociIndex } });
    const indexError = await expectError(indexResponse, 400, 'MANIFEST_INVALID');
    assert.match(indexError.message, /manifests\[0\]/);
  });

  test('blob from another repository rejected', async () => {
    const config = await fixture.client.pushBlob('man/elsewhere', randomBytes(10));
    const text = JSON.stringify(imageManifest({ digest: config, size: 10 }, []));
    const response = await fixture.client.fetch('/v2/man/here/manifests/v1', { method: 'PUT', body: text, headers: { 'Content-Type': ociManifest } });
    await expectError(response, 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('foreign layer needs no blob', async () => {
    const config = await fixture.client.pushBlob('man/foreign', randomBytes(10));
    const text = JSON.stringify({
      schemaVersion: 2,
      mediaType: dockerManifest,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 10 },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
          digest: sha256('windows base'),
          size: 1000,
          urls: ['https://example.invalid/layer'],
        },
      ],
    });
    await fixture.client.pushManifest('man/foreign', 'win', text, dockerManifest);
  });

  const invalidBodies: [string, string, string | undefined][] = [
    ['broken JSON', '{"schemaVersion": 2,', ociManifest],
    ['JSON array', '[]', ociManifest],
    ['wrong schemaVersion', JSON.stringify({ schemaVersion: 3, mediaType: ociManifest }), ociManifest],
    ['missing config', JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, layers: [] }), ociManifest],
    ['layers not array', JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config: emptyConfig, layers: {} }), ociManifest],
    ['bad layer digest', JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config: emptyConfig, layers: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] }), ociManifest],
    ['negative size', JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config: { ...emptyConfig, size: -1 }, layers: [] }), ociManifest],
    ['media type mismatch', JSON.stringify({ schemaVersion: 2, mediaType: ociIndex, manifests: [] }), ociManifest],
    ['unknown media type', JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-unknown', config: emptyConfig, layers: [] }), 'application/x-unknown'],
    ['index without manifests', JSON.stringify({ schemaVersion: 2, mediaType: ociIndex }), ociIndex],
    ['annotation not string', JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config: emptyConfig, layers: [], annotations: { a: 1 } }), ociManifest],
    ['no type at all', JSON.stringify({ schemaVersion: 2, layers: [] }), undefined],
  ];
  for (const [name, body, contentType] of invalidBodies) {
    test(`invalid manifest: ${name}`, async () => {
      const headers: Record<string, string> = contentType ? { 'Content-Type': contentType } : {};
      const response = await fixture.client.fetch('/v2/man/invalid/manifests/bad', { method: 'PUT', body, headers });
      await expectError(response, 400, 'MANIFEST_INVALID');
    });
  }

  test('schema 1 rejected with advice', async () => {
    const body = JSON.stringify({ schemaVersion: 1, name: 'man/old', tag: 'v1', fsLayers: [], history: [] });
    const response = await fixture.client.fetch('/v2/man/old/manifests/v1', {
      method: 'PUT',
      body,
      headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
    });
    const error = await expectError(response, 400, 'MANIFEST_INVALID');
    assert.match(error.message, /schema 2 or OCI/);
  });

  test('oversized manifest gets 413', async () => {
    const padding = 'x'.repeat(70 * 1024);
    const body = JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config: emptyConfig, layers: [], annotations: { padding } });
    for (const reference of ['big', sha256(body)]) {
      const response = await fixture.client.fetch(`/v2/man/big/manifests/${reference}`, { method: 'PUT', body, headers: { 'Content-Type': ociManifest } });
      await expectError(response, 413, 'SIZE_INVALID');
    }
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from(body));
        controller.close();
      },
    });
    const streamed = await fixture.client.fetch('/v2/man/big/manifests/streamed', {
      method: 'PUT',
      body: chunked,
      duplex: 'half',
      headers: { 'Content-Type': ociManifest },
    } as RequestInit);
    await expectError(streamed, 413, 'SIZE_INVALID');
  });

  test('invalid tags rejected', async () => {
    for (const tag of ['-start', '.start', 'a'.repeat(129), 'bad!char']) {
      const response = await fixture.client.fetch(`/v2/man/tags/manifests/${encodeURIComponent(tag)}`, { method: 'PUT', body: '{}', headers: { 'Content-Type': ociManifest } });
      await expectError(response, 400, 'TAG_INVALID');
    }
    const longest = await fixture.client.pushImage('man/tags', 'a'.repeat(128));
    assert.ok(longest.digest);
  });

  test('unknown manifest and repository', async () => {
    await fixture.client.pushImage('man/known', 'v1');
    await expectError(await fixture.client.fetch('/v2/man/known/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
    await expectError(await fixture.client.fetch(`/v2/man/known/manifests/${sha256('x')}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await fixture.client.fetch('/v2/man/never/manifests/v1'), 404, 'NAME_UNKNOWN');
    assert.equal((await fixture.client.fetch('/v2/man/known/manifests/v2', { method: 'HEAD' })).status, 404);
    await expectError(await fixture.client.fetch('/v2/man/known/manifests/sha256:short'), 400, 'DIGEST_INVALID');
  });

  test('reference that is no tag', async () => {
    await fixture.client.pushImage('man/notag', 'v1');
    await expectError(await fixture.client.fetch('/v2/man/notag/manifests/.hidden'), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await fixture.client.fetch('/v2/man/notag/manifests/-dash', { method: 'HEAD' })).status, 404);
    await expectError(await fixture.client.fetch('/v2/man/notag/manifests/.hidden', { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
  });

  test('DELETE by tag keeps manifest', async () => {
    const image = await fixture.client.pushImage('man/deltag', 'a');
    await fixture.client.pushManifest('man/deltag', 'b', image.text, ociManifest);
    const deleted = await fixture.client.fetch('/v2/man/deltag/manifests/a', { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    await expectError(await fixture.client.fetch('/v2/man/deltag/manifests/a'), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await fixture.client.fetch('/v2/man/deltag/manifests/b')).status, 200);
    assert.equal((await fixture.client.fetch(`/v2/man/deltag/manifests/${image.digest}`)).status, 200);
    await expectError(await fixture.client.fetch('/v2/man/deltag/manifests/a', { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
  });

  test('DELETE by digest removes tags', async () => {
    const image = await fixture.client.pushImage('man/deldigest', 'a');
    await fixture.client.pushManifest('man/deldigest', 'b', image.text, ociManifest);
    const deleted = await fixture.client.fetch(`/v2/man/deldigest/manifests/${image.digest}`, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    await expectError(await fixture.client.fetch(`/v2/man/deldigest/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await fixture.client.fetch('/v2/man/deldigest/manifests/a'), 404, 'MANIFEST_UNKNOWN');
    await expectError(await fixture.client.fetch('/v2/man/deldigest/manifests/b'), 404, 'MANIFEST_UNKNOWN');
    const tags = await (await fixture.client.fetch('/v2/man/deldigest/tags/list')).json();
    assert.deepEqual(tags, { name: 'man/deldigest', tags: [] });
    await expectError(await fixture.client.fetch(`/v2/man/deldigest/manifests/${image.digest}`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
    await expectError(await fixture.client.fetch(`/v2/man/nothing-here/manifests/${image.digest}`, { method: 'DELETE' }), 404, 'NAME_UNKNOWN');
  });

  test('tag moves on re-push', async () => {
    const first = await fixture.client.pushImage('man/move', 'latest');
    const second = await fixture.client.pushImage('man/move', 'latest');
    assert.notEqual(first.digest, second.digest);
    assert.equal((await fixture.client.fetch('/v2/man/move/manifests/latest')).headers.get('docker-content-digest'), second.digest);
    assert.equal((await fixture.client.fetch(`/v2/man/move/manifests/${first.digest}`)).status, 200);
  });

  test('concurrent pushes of one tag', async () => {
    const images = await Promise.all(Array.from({ length: 6 }, (_, index) => fixture.client.pushImage('man/race', `prep-${index}`)));
    await Promise.all(images.map((image) => fixture.client.pushManifest('man/race', 'same', image.text, ociManifest)));
    const winner = (await fixture.client.fetch('/v2/man/race/manifests/same')).headers.get('docker-content-digest');
    assert.ok(images.some((image) => image.digest === winner));
  });
});
