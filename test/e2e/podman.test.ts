import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { buildBusyboxLayout, sha256Bytes, sha256File } from '../helpers/images.js';
import type { BusyboxLayout, Descriptor } from '../helpers/images.js';
import { startBerth } from '../helpers/process.js';
import type { BerthProcess } from '../helpers/process.js';
import { requireTool } from '../helpers/tools.js';
import { createContainersEnv, haveTools, podman, skopeo } from './containers-env.js';
import { getText, headBlob } from './registry-http.js';

/** Returns whether podman, skopeo and the image builder's tools are installed; see `requireTool`. */
function requirePodmanTools(t: TestContext): boolean {
  return (
    requireTool(t, 'podman', 'podman') &&
    requireTool(t, 'skopeo', 'skopeo') &&
    requireTool(t, '/bin/busybox', 'busybox-static') &&
    requireTool(t, 'tar', 'tar')
  );
}

/** Image ID as podman prints it: the config digest without "sha256:". */
function imageId(config: Descriptor): string {
  return config.digest.replace(/^sha256:/, '');
}

describe('podman against berth', { timeout: 300_000 }, () => {
  let workDir = '';
  let layout: BusyboxLayout;
  let berth: BerthProcess | undefined;
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'berth-e2e-podman-'));
    if (!haveTools('podman', 'skopeo', '/bin/busybox', 'tar')) {
      return;
    }
    layout = await buildBusyboxLayout(join(workDir, 'layout'));
    berth = await startBerth({ dataDir: join(workDir, 'data') });
    env = await createContainersEnv(join(workDir, 'containers'), [berth.host]);

    // skopeo seeds the registry, so that podman pulls exactly the digests the layout holds.
    await skopeo(env, ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout.dir}:busybox:latest`, `docker://${berth.host}/e2e/busybox:latest`]);
    await skopeo(env, ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout.dir}:busybox:multi`, `docker://${berth.host}/e2e/busybox:multi`]);
  });

  after(async () => {
    await berth?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  const server = (): BerthProcess => {
    assert.ok(berth, 'berth was not started by before()');
    return berth;
  };

  test('pull image by tag', async (t) => {
    if (!requirePodmanTools(t)) return;
    const reference = `${server().host}/e2e/busybox:latest`;
    const { stdout } = await podman(env, ['pull', '--quiet', reference]);

    assert.equal(stdout.trim(), imageId(layout.latest.config));
    const inspected = await podman(env, ['image', 'inspect', '--format', '{{.Digest}} {{.Architecture}}', reference]);
    assert.equal(inspected.stdout.trim(), `${layout.latest.manifest.digest} ${layout.latest.platform.architecture}`);
  });

  test('mounted image has layer files', async (t) => {
    if (!requirePodmanTools(t)) return;
    const reference = `${server().host}/e2e/busybox:latest`;
    const { stdout } = await podman(env, ['image', 'mount', reference]);
    const root = stdout.trim();
    try {
      assert.equal(await sha256File(join(root, 'bin', 'busybox')), await sha256File('/bin/busybox'));
      const shell = await lstat(join(root, 'bin', 'sh'));
      assert.ok(shell.isSymbolicLink(), 'bin/sh is not a symbolic link');
      assert.equal(await readlink(join(root, 'bin', 'sh')), '/bin/busybox');
      assert.equal(await readFile(join(root, 'etc', 'hostname'), 'utf8'), 'busybox\n');
    } finally {
      await podman(env, ['image', 'unmount', reference]);
    }
  });

  test('push to another repository', async (t) => {
    if (!requirePodmanTools(t)) return;
    await podman(env, ['push', `${server().host}/e2e/busybox:latest`, `${server().host}/e2e/podman-push:v1`]);

    // podman may compress the layers again, so the manifest digest can differ but the config digest cannot.
    const { response, body } = await getText(server().url, '/v2/e2e/podman-push/manifests/v1');
    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('docker-content-digest'), sha256Bytes(body));
    const manifest = JSON.parse(body) as { config: Descriptor; layers: Descriptor[] };
    assert.equal(manifest.config.digest, layout.latest.config.digest);
    assert.equal(manifest.layers.length, layout.latest.layers.length);
    for (const layer of manifest.layers) {
      const blob = await headBlob(server().url, 'e2e/podman-push', layer.digest);
      assert.equal(blob.status, 200, `HEAD blob ${layer.digest}`);
      assert.equal(blob.headers.get('content-length'), String(layer.size), `size of blob ${layer.digest}`);
    }
  });

  test('pull arm64 from index', async (t) => {
    if (!requirePodmanTools(t)) return;
    const reference = `${server().host}/e2e/busybox:multi`;
    const { stdout } = await podman(env, ['pull', '--quiet', '--arch', 'arm64', reference]);

    assert.equal(stdout.trim(), imageId(layout.multi.arm64.config));
    const inspected = await podman(env, ['image', 'inspect', '--format', '{{.Architecture}}', reference]);
    assert.equal(inspected.stdout.trim(), 'arm64');
  });

  test('pull image by digest', async (t) => {
    if (!requirePodmanTools(t)) return;
    const reference = `${server().host}/e2e/busybox@${layout.multi.amd64.manifest.digest}`;
    const { stdout } = await podman(env, ['pull', '--quiet', reference]);

    assert.equal(stdout.trim(), imageId(layout.multi.amd64.config));
  });
  test('manifest push sends index', async (t) => {
    if (!requirePodmanTools(t)) return;
    const list = 'localhost/e2e-busybox-list:v1';
    await podman(env, ['manifest', 'create', list]);
    for (const image of [layout.multi.amd64, layout.multi.arm64]) {
      await podman(env, ['manifest', 'add', list, `docker://${server().host}/e2e/busybox@${image.manifest.digest}`]);
    }
    await podman(env, ['manifest', 'push', '--all', list, `docker://${server().host}/e2e/podman-list:v1`]);

    const { response, body } = await getText(server().url, '/v2/e2e/podman-list/manifests/v1');
    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('docker-content-digest'), sha256Bytes(body));
    const index = JSON.parse(body) as { mediaType: string; manifests: Descriptor[] };
    assert.equal(index.mediaType, response.headers.get('content-type'));
    assert.deepEqual(
      index.manifests.map((entry) => [entry.digest, entry.platform?.architecture]),
      [
        [layout.multi.amd64.manifest.digest, 'amd64'],
        [layout.multi.arm64.manifest.digest, 'arm64'],
      ],
    );
  });
});
