import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { buildBusyboxLayout, sha256Bytes } from '../helpers/images.js';
import type { BusyboxLayout } from '../helpers/images.js';
import { startBerth } from '../helpers/process.js';
import type { BerthProcess } from '../helpers/process.js';
import { requireTool } from '../helpers/tools.js';
import { createContainersEnv, haveTools, skopeo } from './containers-env.js';
import { headManifest } from './registry-http.js';

function requireSkopeoTools(t: TestContext): boolean {
  return (
    requireTool(t, 'skopeo', 'skopeo') && requireTool(t, '/bin/busybox', 'busybox-static') && requireTool(t, 'tar', 'tar')
  );
}

describe('berth restart keeps images', { timeout: 300_000 }, () => {
  let workDir = '';
  let layout: BusyboxLayout;
  let berth: BerthProcess | undefined;
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'berth-e2e-restart-'));
    if (!haveTools('skopeo', '/bin/busybox', 'tar')) {
      return;
    }
    layout = await buildBusyboxLayout(join(workDir, 'layout'));
    berth = await startBerth({ dataDir: join(workDir, 'data') });
    env = await createContainersEnv(join(workDir, 'containers'), [berth.host]);
  });

  after(async () => {
    await berth?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  const server = (): BerthProcess => {
    assert.ok(berth, 'berth was not started by before()');
    return berth;
  };

  /** Pulls `repository:tag` with skopeo and asserts that the raw manifest has `digest`. */
  const assertServes = async (repositoryAndTag: string, digest: string): Promise<void> => {
    const { stdout } = await skopeo(env, ['inspect', '--raw', '--tls-verify=false', `docker://${server().host}/${repositoryAndTag}`]);
    assert.equal(sha256Bytes(stdout), digest, `manifest of ${repositoryAndTag}`);
  };

  test('SIGTERM exits with code 0', async (t) => {
    if (!requireSkopeoTools(t)) return;
    await skopeo(env, [
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${layout.dir}:busybox:multi`,
      `docker://${server().host}/e2e/busybox:multi`,
    ]);

    const exitCode = await server().stop();
    assert.equal(exitCode, 0, server().output());
  });

  test('restart serves pushed index', async (t) => {
    if (!requireSkopeoTools(t)) return;
    const previous = server();
    berth = await startBerth({ dataDir: previous.dataDir, port: previous.port });

    await assertServes('e2e/busybox:multi', layout.multi.index.digest);
    await assertServes(`e2e/busybox@${layout.multi.arm64.manifest.digest}`, layout.multi.arm64.manifest.digest);
  });

  test('restart after SIGKILL keeps data', async (t) => {
    if (!requireSkopeoTools(t)) return;
    await skopeo(env, [
      'copy',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${layout.dir}:busybox:sbom`,
      `docker://${server().host}/e2e/busybox:sbom`,
    ]);
    const previous = server();
    await previous.kill();

    berth = await startBerth({ dataDir: previous.dataDir, port: previous.port });
    await assertServes('e2e/busybox:sbom', layout.sbom.manifest.digest);
    const index = await headManifest(server().url, 'e2e/busybox', 'multi');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('docker-content-digest'), layout.multi.index.digest);
  });
});
