import assert from 'node:assert/strict';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { buildBusyboxLayout, sha256Bytes, sha256File } from '../helpers/images.js';
import type { Descriptor } from '../helpers/images.js';
import { haveTools, podman, skopeo } from './containers-env.js';
import { useClientFixture, busyboxBuildTools, podmanTool, skopeoTool } from './fixture.js';
import { getText, headBlob } from './registry-http.js';

/** Image ID as podman prints it: the config digest without "sha256:". */
function imageId(config: Descriptor): string {
  return config.digest.replace(/^sha256:/, '');
}

describe('podman against berth', { timeout: 300_000 }, () => {
  const fixture = useClientFixture('podman', [podmanTool, skopeoTool, ...busyboxBuildTools], buildBusyboxLayout);
  const server = fixture.server;

  // skopeo seeds the registry, so that podman pulls exactly the digests the layout holds.
  before(async () => {
    if (!haveTools('podman', 'skopeo', '/bin/busybox', 'tar')) return;
    const host = fixture.server().host;
    const dir = fixture.layout().dir;
    await skopeo(fixture.env(), ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${dir}:busybox:latest`, `docker://${host}/e2e/busybox:latest`]);
    await skopeo(fixture.env(), ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${dir}:busybox:multi`, `docker://${host}/e2e/busybox:multi`]);
  });

  test('pull image by tag', async (t) => {
    if (!fixture.requireTools(t)) return;
    const reference = `${server().host}/e2e/busybox:latest`;
    const { stdout } = await podman(fixture.env(), ['pull', '--quiet', reference]);

    assert.equal(stdout.trim(), imageId(fixture.layout().latest.config));
    const inspected = await podman(fixture.env(), ['image', 'inspect', '--format', '{{.Digest}} {{.Architecture}}', reference]);
    assert.equal(inspected.stdout.trim(), `${fixture.layout().latest.manifest.digest} ${fixture.layout().latest.platform.architecture}`);
  });

  test('mounted image has layer files', async (t) => {
    if (!fixture.requireTools(t)) return;
    const reference = `${server().host}/e2e/busybox:latest`;
    const { stdout } = await podman(fixture.env(), ['image', 'mount', reference]);
    const root = stdout.trim();
    try {
      assert.equal(await sha256File(join(root, 'bin', 'busybox')), await sha256File('/bin/busybox'));
      const shell = await lstat(join(root, 'bin', 'sh'));
      assert.ok(shell.isSymbolicLink(), 'bin/sh is not a symbolic link');
      assert.equal(await readlink(join(root, 'bin', 'sh')), '/bin/busybox');
      assert.equal(await readFile(join(root, 'etc', 'hostname'), 'utf8'), 'busybox\n');
    } finally {
      await podman(fixture.env(), ['image', 'unmount', reference]);
    }
  });

  test('push to another repository', async (t) => {
    if (!fixture.requireTools(t)) return;
    await podman(fixture.env(), ['push', `${server().host}/e2e/busybox:latest`, `${server().host}/e2e/podman-push:v1`]);

    // podman may compress the layers again, so the manifest digest can differ but the config digest cannot.
    const { response, body } = await getText(server().url, '/v2/e2e/podman-push/manifests/v1');
    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('docker-content-digest'), sha256Bytes(body));
    const manifest = JSON.parse(body) as { config: Descriptor; layers: Descriptor[] };
    assert.equal(manifest.config.digest, fixture.layout().latest.config.digest);
    assert.equal(manifest.layers.length, fixture.layout().latest.layers.length);
    for (const layer of manifest.layers) {
      const blob = await headBlob(server().url, 'e2e/podman-push', layer.digest);
      assert.equal(blob.status, 200, `HEAD blob ${layer.digest}`);
      assert.equal(blob.headers.get('content-length'), String(layer.size), `size of blob ${layer.digest}`);
    }
  });

  test('pull arm64 from index', async (t) => {
    if (!fixture.requireTools(t)) return;
    const reference = `${server().host}/e2e/busybox:multi`;
    const { stdout } = await podman(fixture.env(), ['pull', '--quiet', '--arch', 'arm64', reference]);

    assert.equal(stdout.trim(), imageId(fixture.layout().multi.arm64.config));
    const inspected = await podman(fixture.env(), ['image', 'inspect', '--format', '{{.Architecture}}', reference]);
    assert.equal(inspected.stdout.trim(), 'arm64');
  });

  test('pull image by digest', async (t) => {
    if (!fixture.requireTools(t)) return;
    const reference = `${server().host}/e2e/busybox@${fixture.layout().multi.amd64.manifest.digest}`;
    const { stdout } = await podman(fixture.env(), ['pull', '--quiet', reference]);

    assert.equal(stdout.trim(), imageId(fixture.layout().multi.amd64.config));
  });
  test('manifest push sends index', async (t) => {
    if (!fixture.requireTools(t)) return;
    const list = 'localhost/e2e-busybox-list:v1';
    await podman(fixture.env(), ['manifest', 'create', list]);
    for (const image of [fixture.layout().multi.amd64, fixture.layout().multi.arm64]) {
      await podman(fixture.env(), ['manifest', 'add', list, `docker://${server().host}/e2e/busybox@${image.manifest.digest}`]);
    }
    await podman(fixture.env(), ['manifest', 'push', '--all', list, `docker://${server().host}/e2e/podman-list:v1`]);

    const { response, body } = await getText(server().url, '/v2/e2e/podman-list/manifests/v1');
    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('docker-content-digest'), sha256Bytes(body));
    const index = JSON.parse(body) as { mediaType: string; manifests: Descriptor[] };
    assert.equal(index.mediaType, response.headers.get('content-type'));
    assert.deepEqual(
      index.manifests.map((entry) => [entry.digest, entry.platform?.architecture]),
      [
        [fixture.layout().multi.amd64.manifest.digest, 'amd64'],
        [fixture.layout().multi.arm64.manifest.digest, 'arm64'],
      ],
    );
  });
});
