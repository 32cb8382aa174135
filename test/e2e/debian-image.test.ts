import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { MEDIA_TYPES, blobPath, buildDebianLayout, sha256File } from '../helpers/images.js';
import type { Descriptor } from '../helpers/images.js';
import { podman, skopeo } from './containers-env.js';
import { useClientFixture, debootstrapTool, podmanTool, skopeoTool } from './fixture.js';
import { headManifest } from './registry-http.js';

/** Returns the sha256 digest of the gunzipped content of a file, streaming it. */
async function sha256OfGunzipped(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), createGunzip(), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
    }
  });
  return `sha256:${hash.digest('hex')}`;
}

// The first run builds the root filesystem with debootstrap (30-60 s, network access to
// the Debian mirror). Later runs reuse the cached layer.
describe('debian image through podman and skopeo', { timeout: 900_000 }, () => {
  const fixture = useClientFixture('debian', [debootstrapTool, podmanTool, skopeoTool, { command: 'tar', debianPackage: 'tar' }], buildDebianLayout);
  const server = fixture.server;

  test('podman pushes debian image', async (t) => {
    if (!fixture.requireTools(t)) return;
    const pulled = await podman(fixture.env(), ['pull', '--quiet', `oci:${fixture.layout().dir}:debian:minbase`]);
    const id = pulled.stdout.trim();
    assert.equal(`sha256:${id}`, fixture.layout().minbase.config.digest);

    await podman(fixture.env(), ['push', id, `docker://${server().host}/e2e/debian:minbase`]);

    const response = await headManifest(server().url, 'e2e/debian', 'minbase');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), MEDIA_TYPES.imageManifest);
  });

  test('skopeo pull keeps config and diff_ids', async (t) => {
    if (!fixture.requireTools(t)) return;
    const pulledDir = join(fixture.workDir(), 'pulled');
    await skopeo(fixture.env(), ['copy', '--src-tls-verify=false', `docker://${server().host}/e2e/debian:minbase`, `oci:${pulledDir}:debian:minbase`]);

    const blobNames = await readdir(join(pulledDir, 'blobs', 'sha256'));
    for (const name of blobNames) {
      assert.equal(await sha256File(join(pulledDir, 'blobs', 'sha256', name)), `sha256:${name}`, `blob ${name} content`);
    }
    const index = JSON.parse(await readFile(join(pulledDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    assert.equal(index.manifests.length, 1);
    const manifestDigest = index.manifests[0]?.digest ?? '';
    const manifest = JSON.parse(await readFile(blobPath(pulledDir, manifestDigest), 'utf8')) as {
      config: Descriptor;
      layers: Descriptor[];
    };
    assert.equal(manifest.config.digest, fixture.layout().minbase.config.digest);
    const config = JSON.parse(await readFile(blobPath(pulledDir, manifest.config.digest), 'utf8')) as {
      rootfs: { diff_ids: string[] };
    };
    assert.deepEqual(config.rootfs.diff_ids, fixture.layout().minbase.diffIds);

    // podman compressed the layers again, so their digests may differ from the layout's,
    // but each must still decompress to the tar that its diff_id names.
    assert.equal(manifest.layers.length, fixture.layout().minbase.diffIds.length);
    for (const [position, layer] of manifest.layers.entries()) {
      assert.equal(await sha256OfGunzipped(blobPath(pulledDir, layer.digest)), fixture.layout().minbase.diffIds[position], `layer ${position}`);
    }
  });
  test('parallel pushes share one layer', async (t) => {
    if (!fixture.requireTools(t)) return;
    // Three skopeo processes upload the same 60 MB layer at once, to three repositories.
    const repositories = ['e2e/parallel-a', 'e2e/parallel-b', 'e2e/parallel-c'];
    await Promise.all(
      repositories.map((repository) =>
        skopeo(fixture.env(), ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${fixture.layout().dir}:debian:minbase`, `docker://${server().host}/${repository}:minbase`]),
      ),
    );

    const rootfsLayer = fixture.layout().minbase.layers[0];
    assert.ok(rootfsLayer);
    for (const repository of repositories) {
      const manifest = await headManifest(server().url, repository, 'minbase');
      assert.equal(manifest.headers.get('docker-content-digest'), fixture.layout().minbase.manifest.digest, `manifest in ${repository}`);
      const response = await fetch(`${server().url}/v2/${repository}/blobs/${rootfsLayer.digest}`);
      assert.equal(response.status, 200, `GET layer in ${repository}`);
      assert.ok(response.body, `GET layer in ${repository} has no body`);
      const hash = createHash('sha256');
      for await (const chunk of response.body) {
        hash.update(chunk);
      }
      assert.equal(`sha256:${hash.digest('hex')}`, rootfsLayer.digest, `layer content in ${repository}`);
    }
  });
});
