import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MEDIA_TYPES, REF_NAME_ANNOTATION, buildBusyboxLayout, sha256Bytes, sha256File } from '../helpers/images.js';
import type { Descriptor } from '../helpers/images.js';
import { skopeo } from './containers-env.js';
import { useClientFixture, busyboxBuildTools, skopeoTool } from './fixture.js';
import { getText, headBlob, headManifest } from './registry-http.js';

const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

describe('skopeo against berth', { timeout: 300_000 }, () => {
  const fixture = useClientFixture('skopeo', [skopeoTool, ...busyboxBuildTools], buildBusyboxLayout);
  const server = fixture.server;
  const source = (ref: string): string => `oci:${fixture.layout().dir}:${ref}`;
  const remote = (repositoryAndReference: string): string => `docker://${server().host}/${repositoryAndReference}`;

  test('copy pushes image', async (t) => {
    if (!fixture.requireTools(t)) return;
    await skopeo(fixture.env(), ['copy', '--preserve-digests', '--dest-tls-verify=false', source('busybox:latest'), remote('e2e/busybox:latest')]);

    const response = await headManifest(server().url, 'e2e/busybox', 'latest');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('docker-content-digest'), fixture.layout().latest.manifest.digest);
    assert.equal(response.headers.get('content-type'), MEDIA_TYPES.imageManifest);
    assert.equal(response.headers.get('content-length'), String(fixture.layout().latest.manifest.size));
  });

  test('inspect raw matches digest', async (t) => {
    if (!fixture.requireTools(t)) return;
    const { stdout } = await skopeo(fixture.env(), ['inspect', '--raw', '--tls-verify=false', remote('e2e/busybox:latest')]);

    assert.equal(sha256Bytes(stdout), fixture.layout().latest.manifest.digest);
  });

  test('inspect reports config fields', async (t) => {
    if (!fixture.requireTools(t)) return;
    const { stdout } = await skopeo(fixture.env(), ['inspect', '--tls-verify=false', remote('e2e/busybox:latest')]);
    const inspected = JSON.parse(stdout) as { Digest: string; Architecture: string; Os: string; Layers: string[]; Env: string[] };

    assert.equal(inspected.Digest, fixture.layout().latest.manifest.digest);
    assert.equal(inspected.Architecture, fixture.layout().latest.platform.architecture);
    assert.equal(inspected.Os, 'linux');
    assert.deepEqual(
      inspected.Layers,
      fixture.layout().latest.layers.map((layer) => layer.digest),
    );
    assert.ok(inspected.Env.some((variable) => variable.startsWith('PATH=')), `no PATH in Env: ${JSON.stringify(inspected.Env)}`);
  });

  test('inspect config matches layout', async (t) => {
    if (!fixture.requireTools(t)) return;
    const { stdout } = await skopeo(fixture.env(), ['inspect', '--config', '--raw', '--tls-verify=false', remote('e2e/busybox:latest')]);
    const config = JSON.parse(stdout) as { config: { Cmd: string[] }; rootfs: { diff_ids: string[] } };

    assert.equal(sha256Bytes(stdout), fixture.layout().latest.config.digest);
    assert.deepEqual(config.config.Cmd, ['/bin/sh']);
    assert.deepEqual(config.rootfs.diff_ids, fixture.layout().latest.diffIds);
  });

  test('copy --all pushes index', async (t) => {
    if (!fixture.requireTools(t)) return;
    await skopeo(fixture.env(), [
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      source('busybox:multi'),
      remote('e2e/busybox:multi'),
    ]);

    const { stdout } = await skopeo(fixture.env(), ['inspect', '--raw', '--tls-verify=false', remote('e2e/busybox:multi')]);
    const index = JSON.parse(stdout) as { mediaType: string; manifests: Descriptor[] };
    assert.equal(sha256Bytes(stdout), fixture.layout().multi.index.digest);
    assert.equal(index.mediaType, MEDIA_TYPES.imageIndex);
    assert.deepEqual(
      index.manifests.map((entry) => entry.platform?.architecture),
      ['amd64', 'arm64'],
    );
    for (const image of [fixture.layout().multi.amd64, fixture.layout().multi.arm64]) {
      const child = await skopeo(fixture.env(), ['inspect', '--raw', '--tls-verify=false', remote(`e2e/busybox@${image.manifest.digest}`)]);
      assert.equal(sha256Bytes(child.stdout), image.manifest.digest, `manifest of ${image.platform.architecture}`);
    }
  });

  test('override-arch selects arm64 config', async (t) => {
    if (!fixture.requireTools(t)) return;
    const { stdout } = await skopeo(fixture.env(), [
      'inspect',
      '--config',
      '--raw',
      '--override-arch=arm64',
      '--override-os=linux',
      '--tls-verify=false',
      remote('e2e/busybox:multi'),
    ]);
    const config = JSON.parse(stdout) as { architecture: string };

    assert.equal(sha256Bytes(stdout), fixture.layout().multi.arm64.config.digest);
    assert.equal(config.architecture, 'arm64');
  });

  test('copy pushes sbom artifact', async (t) => {
    if (!fixture.requireTools(t)) return;
    await skopeo(fixture.env(), ['copy', '--preserve-digests', '--dest-tls-verify=false', source('busybox:sbom'), remote('e2e/busybox:sbom')]);

    const { stdout } = await skopeo(fixture.env(), ['inspect', '--raw', '--tls-verify=false', remote('e2e/busybox:sbom')]);
    const manifest = JSON.parse(stdout) as { artifactType: string; subject: Descriptor; layers: Descriptor[] };
    assert.equal(sha256Bytes(stdout), fixture.layout().sbom.manifest.digest);
    assert.equal(manifest.artifactType, 'application/spdx+json');
    assert.equal(manifest.subject.digest, fixture.layout().latest.manifest.digest);
    const documentBlob = await headBlob(server().url, 'e2e/busybox', fixture.layout().sbom.document.digest);
    assert.equal(documentBlob.status, 200);
    assert.equal(documentBlob.headers.get('content-length'), String(fixture.layout().sbom.document.size));
  });

  test('list-tags returns exact set', async (t) => {
    if (!fixture.requireTools(t)) return;
    const { stdout } = await skopeo(fixture.env(), ['list-tags', '--tls-verify=false', remote('e2e/busybox')]);
    const listing = JSON.parse(stdout) as { Repository: string; Tags: string[] };

    assert.equal(listing.Repository, `${server().host}/e2e/busybox`);
    assert.deepEqual([...listing.Tags].sort(), ['latest', 'multi', 'sbom']);
  });

  test('referrers lists sbom artifact', async (t) => {
    if (!fixture.requireTools(t)) return;
    const { response, body } = await getText(server().url, `/v2/e2e/busybox/referrers/${fixture.layout().latest.manifest.digest}`);

    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('content-type'), MEDIA_TYPES.imageIndex);
    const index = JSON.parse(body) as ReferrersIndex;
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, MEDIA_TYPES.imageIndex);
    assert.equal(index.manifests.length, 1, body);
    const [referrer] = index.manifests;
    assert.equal(referrer?.mediaType, MEDIA_TYPES.imageManifest);
    assert.equal(referrer?.digest, fixture.layout().sbom.manifest.digest);
    assert.equal(referrer?.size, fixture.layout().sbom.manifest.size);
    assert.equal(referrer?.artifactType, 'application/spdx+json');
    assert.deepEqual(referrer?.annotations, fixture.layout().sbom.annotations);
  });

  test('referrers filter by artifactType', async (t) => {
    if (!fixture.requireTools(t)) return;
    const path = `/v2/e2e/busybox/referrers/${fixture.layout().latest.manifest.digest}?artifactType=${encodeURIComponent('application/spdx+json')}`;
    const { response, body } = await getText(server().url, path);

    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('oci-filters-applied'), 'artifactType');
    const index = JSON.parse(body) as ReferrersIndex;
    assert.deepEqual(
      index.manifests.map((entry) => entry.digest),
      [fixture.layout().sbom.manifest.digest],
    );
  });

  test('referrers filter excludes other types', async (t) => {
    if (!fixture.requireTools(t)) return;
    const path = `/v2/e2e/busybox/referrers/${fixture.layout().latest.manifest.digest}?artifactType=${encodeURIComponent('application/vnd.example.signature+json')}`;
    const { response, body } = await getText(server().url, path);

    assert.equal(response.status, 200, body);
    assert.equal(response.headers.get('oci-filters-applied'), 'artifactType');
    const index = JSON.parse(body) as ReferrersIndex;
    assert.deepEqual(index.manifests, []);
  });

  test('referrers of unknown digest empty', async (t) => {
    if (!fixture.requireTools(t)) return;
    const unknownDigest = sha256Bytes('no manifest has this content');
    const { response, body } = await getText(server().url, `/v2/e2e/busybox/referrers/${unknownDigest}`);

    assert.equal(response.status, 200, body);
    const index = JSON.parse(body) as ReferrersIndex;
    assert.equal(index.mediaType, MEDIA_TYPES.imageIndex);
    assert.deepEqual(index.manifests, []);
  });

  test('artifact accepted before subject', async (t) => {
    if (!fixture.requireTools(t)) return;
    // The OCI distribution spec requires accepting a manifest whose subject is not (yet) in the repository.
    await skopeo(fixture.env(), ['copy', '--preserve-digests', '--dest-tls-verify=false', source('busybox:sbom'), remote('e2e/orphan:sbom')]);

    const subject = await headManifest(server().url, 'e2e/orphan', fixture.layout().latest.manifest.digest);
    assert.equal(subject.status, 404);
    const { response, body } = await getText(server().url, `/v2/e2e/orphan/referrers/${fixture.layout().latest.manifest.digest}`);
    assert.equal(response.status, 200, body);
    assert.deepEqual(
      (JSON.parse(body) as ReferrersIndex).manifests.map((entry) => entry.digest),
      [fixture.layout().sbom.manifest.digest],
    );
  });

  test('copy across repositories mounts blobs', async (t) => {
    if (!fixture.requireTools(t)) return;
    const { stderr } = await skopeo(fixture.env(), [
      '--debug',
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      remote('e2e/busybox:latest'),
      remote('e2e/mirror:latest'),
    ]);

    const response = await headManifest(server().url, 'e2e/mirror', 'latest');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('docker-content-digest'), fixture.layout().latest.manifest.digest);
    for (const layer of fixture.layout().latest.layers) {
      const blob = await headBlob(server().url, 'e2e/mirror', layer.digest);
      assert.equal(blob.status, 200, `HEAD blob ${layer.digest} in e2e/mirror`);
      // skopeo 1.9 logs "Trying to mount ...mount=DIGEST" at --debug when its blob info
      // cache has recorded the layer in e2e/busybox, then "... mount OK" on 201 Created.
      assert.ok(
        stderr.includes(`from=e2e%2Fbusybox&mount=${encodeURIComponent(layer.digest)}`),
        `skopeo did not request a cross-repository mount of ${layer.digest}`,
      );
    }
    const mountsDone = stderr.split('\n').filter((line) => line.includes('... mount OK')).length;
    assert.equal(mountsDone, fixture.layout().latest.layers.length, 'mounts that berth answered with 201 Created');
  });

  test('copy back reproduces every blob', async (t) => {
    if (!fixture.requireTools(t)) return;
    const pulledDir = join(fixture.workDir(), 'pulled');
    await skopeo(fixture.env(), ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', remote('e2e/busybox:multi'), `oci:${pulledDir}:busybox:multi`]);
    for (const ref of ['latest', 'sbom']) {
      await skopeo(fixture.env(), ['copy', '--preserve-digests', '--src-tls-verify=false', remote(`e2e/busybox:${ref}`), `oci:${pulledDir}:busybox:${ref}`]);
    }

    const blobNames = (await readdir(join(pulledDir, 'blobs', 'sha256'))).sort();
    for (const name of blobNames) {
      assert.equal(await sha256File(join(pulledDir, 'blobs', 'sha256', name)), `sha256:${name}`, `blob ${name} content`);
    }
    assert.deepEqual(
      blobNames.map((name) => `sha256:${name}`),
      fixture.layout().blobDigests,
    );
    const pulledIndex = JSON.parse(await readFile(join(pulledDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const pulledRefs = Object.fromEntries(
      pulledIndex.manifests.map((entry) => [entry.annotations?.[REF_NAME_ANNOTATION], entry.digest] as const),
    );
    assert.deepEqual(pulledRefs, fixture.layout().refs);
  });

  test('delete by digest removes tag', async (t) => {
    if (!fixture.requireTools(t)) return;
    const digest = fixture.layout().latest.manifest.digest;
    await skopeo(fixture.env(), ['delete', '--tls-verify=false', remote(`e2e/mirror@${digest}`)]);

    const byTag = await headManifest(server().url, 'e2e/mirror', 'latest');
    assert.equal(byTag.status, 404);
    const byDigest = await headManifest(server().url, 'e2e/mirror', digest);
    assert.equal(byDigest.status, 404);
    const otherRepository = await headManifest(server().url, 'e2e/busybox', 'latest');
    assert.equal(otherRepository.status, 200, 'deleting from e2e/mirror must leave e2e/busybox:latest');
  });
  test('copy --format v2s2 pushes docker manifest', async (t) => {
    if (!fixture.requireTools(t)) return;
    await skopeo(fixture.env(), ['copy', '--format=v2s2', '--dest-tls-verify=false', source('busybox:latest'), remote('e2e/docker:v2s2')]);

    const { stdout } = await skopeo(fixture.env(), ['inspect', '--raw', '--tls-verify=false', remote('e2e/docker:v2s2')]);
    const manifest = JSON.parse(stdout) as { mediaType: string; config: Descriptor; layers: Descriptor[] };
    assert.equal(manifest.mediaType, DOCKER_MANIFEST_V2);
    assert.equal(manifest.config.digest, fixture.layout().latest.config.digest);
    const response = await headManifest(server().url, 'e2e/docker', 'v2s2');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), DOCKER_MANIFEST_V2);
    assert.equal(response.headers.get('docker-content-digest'), sha256Bytes(stdout));
  });

  test('zstd layers round trip', async (t) => {
    if (!fixture.requireTools(t)) return;
    // skopeo recompresses the layers into a second local fixture.layout(). Pushing that layout with
    // --preserve-digests sends the zstd blobs as they are.
    const zstdDir = join(fixture.workDir(), 'zstd');
    await skopeo(fixture.env(), ['copy', '--dest-compress', '--dest-compress-format=zstd', source('busybox:latest'), `oci:${zstdDir}:busybox:zstd`]);
    const local = await skopeo(fixture.env(), ['inspect', '--raw', `oci:${zstdDir}:busybox:zstd`]);
    const localManifest = JSON.parse(local.stdout) as { layers: Descriptor[] };
    await skopeo(fixture.env(), ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${zstdDir}:busybox:zstd`, remote('e2e/zstd:latest')]);

    const { stdout } = await skopeo(fixture.env(), ['inspect', '--raw', '--tls-verify=false', remote('e2e/zstd:latest')]);
    assert.equal(sha256Bytes(stdout), sha256Bytes(local.stdout));
    for (const layer of localManifest.layers) {
      assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
      const blob = await headBlob(server().url, 'e2e/zstd', layer.digest);
      assert.equal(blob.status, 200, `HEAD blob ${layer.digest}`);
      assert.equal(blob.headers.get('content-length'), String(layer.size), `size of blob ${layer.digest}`);
    }
  });
  test('copy over tag moves it', async (t) => {
    if (!fixture.requireTools(t)) return;
    const copyTo = (from: string): Promise<unknown> =>
      skopeo(fixture.env(), ['copy', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', from, remote('e2e/moving:current')]);
    await copyTo(remote('e2e/busybox:latest'));
    await copyTo(remote('e2e/busybox:latest'));
    const initial = await headManifest(server().url, 'e2e/moving', 'current');
    assert.equal(initial.headers.get('docker-content-digest'), fixture.layout().latest.manifest.digest);

    await copyTo(remote(`e2e/busybox@${fixture.layout().multi.arm64.manifest.digest}`));

    const moved = await headManifest(server().url, 'e2e/moving', 'current');
    assert.equal(moved.headers.get('docker-content-digest'), fixture.layout().multi.arm64.manifest.digest);
    const previous = await headManifest(server().url, 'e2e/moving', fixture.layout().latest.manifest.digest);
    assert.equal(previous.status, 200, 'the manifest that lost its tag is still reachable by digest');
  });

  test('referrers drop deleted artifact', async (t) => {
    if (!fixture.requireTools(t)) return;
    await skopeo(fixture.env(), ['delete', '--tls-verify=false', remote(`e2e/busybox@${fixture.layout().sbom.manifest.digest}`)]);

    const { response, body } = await getText(server().url, `/v2/e2e/busybox/referrers/${fixture.layout().latest.manifest.digest}`);
    assert.equal(response.status, 200, body);
    assert.deepEqual((JSON.parse(body) as ReferrersIndex).manifests, []);
    const { stdout } = await skopeo(fixture.env(), ['list-tags', '--tls-verify=false', remote('e2e/busybox')]);
    assert.deepEqual([...(JSON.parse(stdout) as { Tags: string[] }).Tags].sort(), ['latest', 'multi']);
  });
});

describe('skopeo list-tags across pages', { timeout: 300_000 }, () => {
  const tags = ['1.0', '1.1', '2.0', 'latest', 'stable'];
  // A page size of 2 makes the five tags span three pages.
  const fixture = useClientFixture('pages', [skopeoTool, ...busyboxBuildTools], buildBusyboxLayout, { BERTH_LIMITS_DEFAULT_PAGE_SIZE: '2' });

  test('list-tags follows Link header', async (t) => {
    if (!fixture.requireTools(t)) return;
    const berth = fixture.server();
    const layoutDir = fixture.layout().dir;
    for (const tag of tags) {
      await skopeo(fixture.env(), ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layoutDir}:busybox:latest`, `docker://${berth.host}/e2e/paged:${tag}`]);
    }

    const firstPage = await getText(berth.url, '/v2/e2e/paged/tags/list');
    assert.equal(firstPage.response.status, 200, firstPage.body);
    assert.deepEqual((JSON.parse(firstPage.body) as { tags: string[] }).tags, tags.slice(0, 2));
    assert.match(firstPage.response.headers.get('link') ?? '', /rel="next"/);
    const { stdout } = await skopeo(fixture.env(), ['list-tags', '--tls-verify=false', `docker://${berth.host}/e2e/paged`]);
    assert.deepEqual((JSON.parse(stdout) as { Tags: string[] }).Tags, tags);
  });
});
