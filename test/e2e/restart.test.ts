import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildBusyboxLayout, sha256Bytes } from '../helpers/images.js';
import { startBerth } from '../helpers/process.js';
import { skopeo } from './containers-env.js';
import { useClientFixture, busyboxBuildTools, skopeoTool } from './fixture.js';
import { headManifest } from './registry-http.js';

describe('berth restart keeps images', { timeout: 300_000 }, () => {
  const fixture = useClientFixture('restart', [skopeoTool, ...busyboxBuildTools], buildBusyboxLayout);
  const server = fixture.server;

  /** Pulls `repository:tag` with skopeo and asserts that the raw manifest has `digest`. */
  const assertServes = async (repositoryAndTag: string, digest: string): Promise<void> => {
    const { stdout } = await skopeo(fixture.env(), ['inspect', '--raw', '--tls-verify=false', `docker://${server().host}/${repositoryAndTag}`]);
    assert.equal(sha256Bytes(stdout), digest, `manifest of ${repositoryAndTag}`);
  };

  test('SIGTERM exits with code 0', async (t) => {
    if (!fixture.requireTools(t)) return;
    await skopeo(fixture.env(), [
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${fixture.layout().dir}:busybox:multi`,
      `docker://${server().host}/e2e/busybox:multi`,
    ]);

    const exitCode = await server().stop();
    assert.equal(exitCode, 0, server().output());
  });

  test('restart serves pushed index', async (t) => {
    if (!fixture.requireTools(t)) return;
    const previous = server();
    fixture.replaceServer(await startBerth({ dataDir: previous.dataDir, port: previous.port }));

    await assertServes('e2e/busybox:multi', fixture.layout().multi.index.digest);
    await assertServes(`e2e/busybox@${fixture.layout().multi.arm64.manifest.digest}`, fixture.layout().multi.arm64.manifest.digest);
  });

  test('restart after SIGKILL keeps data', async (t) => {
    if (!fixture.requireTools(t)) return;
    await skopeo(fixture.env(), [
      'copy',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${fixture.layout().dir}:busybox:sbom`,
      `docker://${server().host}/e2e/busybox:sbom`,
    ]);
    const previous = server();
    await previous.kill();

    fixture.replaceServer(await startBerth({ dataDir: previous.dataDir, port: previous.port }));
    await assertServes('e2e/busybox:sbom', fixture.layout().sbom.manifest.digest);
    const index = await headManifest(server().url, 'e2e/busybox', 'multi');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('docker-content-digest'), fixture.layout().multi.index.digest);
  });
});
