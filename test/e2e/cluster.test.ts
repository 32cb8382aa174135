import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { RegistryClient, imageManifest, ociManifest, sha256 } from '../helpers/http.js';
import { buildBusyboxLayout, type BusyboxLayout } from '../helpers/images.js';
import { postgresUnavailable } from '../helpers/postgres.js';
import { s3Unavailable } from '../helpers/s3.js';
import { hasTool } from '../helpers/tools.js';
import { createContainersEnv, podman, skopeo } from './containers-env.js';

const tools = [
  ['nginx', 'nginx'],
  ['skopeo', 'skopeo'],
  ['podman', 'podman'],
  ['/bin/busybox', 'busybox-static'],
] as const;
const missing = tools.filter(([command]) => !hasTool(command)).map(([command, debianPackage]) => `${command} (apt-get install -y ${debianPackage})`);
for (const reason of [await postgresUnavailable(), await s3Unavailable()]) if (reason) missing.push(reason);
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`the cluster test needs: ${missing.join('; ')} (CI=true, so it fails)`);
const skip = missing.length > 0 ? `the cluster test needs: ${missing.join('; ')}` : undefined;

/** Streams `total` bytes of `pattern` repeated, at most `bytesPerSecond`, so a push lasts long enough to be cut. */
async function* paced(pattern: Buffer, total: number, bytesPerSecond: number): AsyncGenerator<Buffer> {
  const started = Date.now();
  for (let sent = 0; sent < total; sent += pattern.length) {
    yield pattern.subarray(0, Math.min(pattern.length, total - sent));
    const ahead = (sent + pattern.length) / bytesPerSecond - (Date.now() - started) / 1000;
    if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead * 1000));
  }
}

/** Reads the bytes a process has received so far (reads from sockets and files), from /proc. */
async function bytesRead(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
  return Number(/rchar:\s*(\d+)/.exec(text)?.[1] ?? 0);
}

describe('three berth nodes behind nginx on PostgreSQL and S3', { skip, timeout: 900_000 }, () => {
  let cluster: Cluster;
  let balancer: RegistryClient;
  let nodes: RegistryClient[];

  before(async () => {
    cluster = await startCluster(3);
    balancer = new RegistryClient(cluster.url);
    nodes = cluster.nodes.map((node) => new RegistryClient(node.url));
  });
  after(async () => {
    await cluster?.stop();
  });

  test('chunked upload across nodes', async () => {
    const parts = [randomBytes(6 * 1024 * 1024), randomBytes(1024), randomBytes(3 * 1024 * 1024)];
    const data = Buffer.concat(parts);
    const [first, second, third] = nodes as [RegistryClient, RegistryClient, RegistryClient];
    const start = await first.fetch('/v2/cluster/chunked/blobs/uploads/', { method: 'POST' });
    assert.equal(start.status, 202);
    let location = start.headers.get('location') as string;
    let offset = 0;
    for (const [index, part] of parts.entries()) {
      const node = [second, third, first][index] as RegistryClient;
      const response = await node.fetch(location, {
        method: 'PATCH',
        body: part,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + part.length - 1}` },
      });
      assert.equal(response.status, 202, await response.text());
      location = response.headers.get('location') as string;
      offset += part.length;
    }
    const done = await second.fetch(`${location}${location.includes('?') ? '&' : '?'}digest=${sha256(data)}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    for (const node of nodes) {
      const blob = await node.fetch(`/v2/cluster/chunked/blobs/${sha256(data)}`);
      assert.equal(blob.status, 200);
      assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data));
    }
  });

  test('manifest visible on every node', async () => {
    const image = await (nodes[0] as RegistryClient).pushImage('cluster/visible', 'v1');
    for (const node of nodes) {
      const response = await node.fetch('/v2/cluster/visible/manifests/v1', { headers: { Accept: ociManifest } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('docker-content-digest'), image.digest);
    }
  });

  test('tag pushed through every node at once', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const configDigest = await balancer.pushBlob('cluster/race', config);
    const manifests = Array.from({ length: 12 }, (_, index) =>
      JSON.stringify(imageManifest({ digest: configDigest, size: config.length }, [], { annotations: { push: String(index) } })),
    );
    await Promise.all(manifests.map((text, index) => (nodes[index % 3] as RegistryClient).pushManifest('cluster/race', 'latest', text, ociManifest)));
    const digests = new Set<string>();
    for (const node of nodes) {
      const response = await node.fetch('/v2/cluster/race/manifests/latest', { method: 'HEAD', headers: { Accept: ociManifest } });
      digests.add(response.headers.get('docker-content-digest') as string);
    }
    assert.equal(digests.size, 1);
    assert.ok(manifests.map(sha256).includes([...digests][0] as string));
  });

  test('blob pushed through every node at once', async () => {
    const data = randomBytes(7 * 1024 * 1024);
    const digests = await Promise.all(Array.from({ length: 6 }, (_, index) => (nodes[index % 3] as RegistryClient).pushBlob('cluster/same-blob', data)));
    assert.ok(digests.every((digest) => digest === sha256(data)));
    const blob = await balancer.fetch(`/v2/cluster/same-blob/blobs/${sha256(data)}`);
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data));
  });

  describe('real clients through the balancer', () => {
    let workDir: string;
    let layout: BusyboxLayout;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      workDir = await mkdtemp(join(tmpdir(), 'berth-cluster-clients-'));
      layout = await buildBusyboxLayout(join(workDir, 'layout'));
      env = await createContainersEnv(join(workDir, 'containers'), [cluster.host]);
    });
    after(async () => {
      await rm(workDir, { recursive: true, force: true });
    });

    test('skopeo copy there and back', async () => {
      const remote = `docker://${cluster.host}/cluster/busybox:latest`;
      await skopeo(env, ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout.dir}:busybox:latest`, remote]);
      const { stdout } = await skopeo(env, ['inspect', '--raw', '--tls-verify=false', remote]);
      assert.equal(sha256(stdout), layout.latest.manifest.digest);
      await skopeo(env, ['copy', '--src-tls-verify=false', remote, `oci:${join(workDir, 'back')}:busybox`]);
      const index = JSON.parse(await readFile(join(workDir, 'back', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(index.manifests[0]?.digest, layout.latest.manifest.digest);
    });

    test('podman pull and push', async () => {
      const reference = `${cluster.host}/cluster/busybox:latest`;
      await podman(env, ['pull', '--quiet', '--tls-verify=false', reference]);
      await podman(env, ['push', '--tls-verify=false', reference, `${cluster.host}/cluster/podman:v1`]);
      for (const node of nodes) {
        const response = await node.fetch('/v2/cluster/podman/manifests/v1', { method: 'HEAD', headers: { Accept: `${ociManifest}, application/vnd.docker.distribution.manifest.v2+json` } });
        assert.equal(response.status, 200);
      }
    });
  });

  test('node killed during a push', async () => {
    const total = 96 * 1024 * 1024;
    const pattern = randomBytes(1024 * 1024);
    const expected = createHash('sha256');
    for (let sent = 0; sent < total; sent += pattern.length) expected.update(pattern.subarray(0, Math.min(pattern.length, total - sent)));
    const digest = `sha256:${expected.digest('hex')}`;

    const push = async (bytesPerSecond: number): Promise<Response> => {
      const start = await balancer.fetch('/v2/cluster/killed/blobs/uploads/', { method: 'POST' });
      assert.equal(start.status, 202);
      const location = start.headers.get('location') as string;
      return balancer.fetch(`${location}?digest=${digest}`, {
        method: 'PUT',
        body: paced(pattern, total, bytesPerSecond) as unknown as RequestInit['body'],
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) },
        duplex: 'half',
      } as RequestInit);
    };

    // About 6 s of upload; after 1.5 s the node receiving it is the one whose read count grows most.
    const first = push(16 * 1024 * 1024).then(
      (response) => response.status,
      () => 'failed',
    );
    const before = await Promise.all(cluster.nodes.map((node) => bytesRead(node.pid)));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const grown = await Promise.all(cluster.nodes.map(async (node, index) => (await bytesRead(node.pid)) - (before[index] as number)));
    const victim = grown.indexOf(Math.max(...grown));
    await (cluster.nodes[victim] as { kill(): Promise<void> }).kill();
    const outcome = await first;
    assert.notEqual(outcome, 201, 'the push survived the kill of the node that received it');

    // The client retries the whole push through the balancer, which skips the dead node.
    const retry = await push(1024 ** 3);
    assert.equal(retry.status, 201, await retry.text());
    for (const [index, node] of nodes.entries()) {
      if (index === victim) continue;
      const blob = await node.fetch(`/v2/cluster/killed/blobs/${digest}`);
      const hash = createHash('sha256');
      for await (const piece of blob.body as unknown as AsyncIterable<Uint8Array>) hash.update(piece);
      assert.equal(`sha256:${hash.digest('hex')}`, digest);
    }
    // What was pushed before the kill is still whole through the balancer.
    const visible = await balancer.fetch('/v2/cluster/visible/manifests/v1', { headers: { Accept: ociManifest } });
    assert.equal(visible.status, 200);
    assert.equal(sha256(Buffer.from(await visible.arrayBuffer())), visible.headers.get('docker-content-digest'));
    const busybox = await balancer.fetch('/v2/cluster/busybox/manifests/latest', { method: 'HEAD', headers: { Accept: ociManifest } });
    assert.equal(busybox.status, 200);
  });
});
