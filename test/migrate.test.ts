import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { openPostgresStore } from '../src/metadata/postgres.js';
import { openSqliteStore } from '../src/metadata/sqlite.js';
import { copyRegistry, DigestMismatchError, type RegistryBackends } from '../src/migrate/copy.js';
import { verifyCopy } from '../src/migrate/verify.js';
import { FilesystemDriver } from '../src/storage/filesystem.js';
import { S3Driver } from '../src/storage/s3.js';
import { createS3Client } from '../src/storage/s3-client.js';
import { skopeo, createContainersEnv } from './e2e/containers-env.js';
import { RegistryClient, sha256 } from './helpers/http.js';
import { buildBusyboxLayout, type BusyboxLayout } from './helpers/images.js';
import { dropTestSchema, postgresUnavailable, testPostgresOptions, testPostgresUrl } from './helpers/postgres.js';
import { findRepositoryRoot, startBerth } from './helpers/process.js';
import { createTestBucket, removeTestBucket, s3Unavailable, testS3Connection, testS3Endpoint } from './helpers/s3.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { hasTool } from './helpers/tools.js';

const missing: string[] = [];
for (const reason of [await postgresUnavailable(), await s3Unavailable()]) if (reason) missing.push(reason);
for (const [command, debianPackage] of [['skopeo', 'skopeo'], ['/bin/busybox', 'busybox-static']]) {
  if (!hasTool(command as string)) missing.push(`${command} not found: apt-get install -y ${debianPackage}`);
}
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`berth migrate tests need: ${missing.join('; ')} (CI=true, so they fail)`);
const skip = missing.length > 0 ? `berth migrate tests need: ${missing.join('; ')}` : undefined;

const silent = pino({ level: 'silent' });
const run = promisify(execFile);

/** A PostgreSQL schema and S3 bucket to migrate into, and the target configuration file. */
interface Target {
  readonly schema: string;
  readonly bucket: string;
  readonly configFile: string;
  backends(): RegistryBackends;
}

describe('berth migrate from SQLite and files to PostgreSQL and S3', { skip, timeout: 600_000 }, () => {
  let workDir: string;
  let source: TestServer;
  let layout: BusyboxLayout;
  let target: Target;
  const opened: { close(): Promise<void> }[] = [];
  const s3 = createS3Client(testS3Connection);

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'berth-migrate-'));
    layout = await buildBusyboxLayout(join(workDir, 'layout'));
    // The source is the embedded default even when the suite runs with BERTH_TEST_BACKENDS set.
    source = await startTestServer({ overrides: { 'metadata.driver': 'sqlite', 'storage.driver': 'filesystem' } });
    const env = await createContainersEnv(join(workDir, 'containers'), [new URL(source.url).host]);
    await run('skopeo', ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout.dir}:busybox:latest`, `docker://${new URL(source.url).host}/moved/busybox:latest`], { env });
    const client = new RegistryClient(source.url);
    for (let index = 0; index < 5; index++) await client.pushImage(`moved/app-${index}`, `v${index}`);
    await client.pushBlob('moved/big', randomBytes(12 * 1024 * 1024));

    const bucket = await createTestBucket(s3);
    const { schema } = testPostgresOptions();
    const configFile = join(workDir, 'target.yaml');
    await writeFile(
      configFile,
      [
        'metadata:',
        '  driver: postgres',
        `  postgres: { url: "${testPostgresUrl}", schema: ${schema} }`,
        'storage:',
        '  driver: s3',
        `  s3: { bucket: ${bucket}, endpoint: "${testS3Endpoint}", forcePathStyle: true, prefix: moved }`,
        '',
      ].join('\n'),
    );
    target = {
      schema,
      bucket,
      configFile,
      backends() {
        const store = openPostgresStore({ ...testPostgresOptions(), schema }, silent);
        opened.push(store);
        const driver = new S3Driver({ ...testS3Connection, bucket, prefix: 'moved', partSize: 16 * 1024 * 1024 });
        return { store, driver };
      },
    };
  });

  after(async () => {
    for (const store of opened) await store.close().catch(() => undefined);
    await source?.close();
    if (target) {
      await dropTestSchema(target.schema);
      await removeTestBucket(s3, target.bucket);
    }
    s3.destroy();
    await rm(workDir, { recursive: true, force: true });
  });

  function sourceBackends(): RegistryBackends {
    const { driver, store } = source.registry.services;
    return { driver, store };
  }

  test('interrupted copy resumes', async () => {
    const backends = target.backends();
    await backends.store.migrate();
    let moves = 0;
    const failing = Object.create(backends.driver) as typeof backends.driver;
    failing.move = async (from, to) => {
      if (++moves > 3) throw new Error('simulated interruption after three blobs');
      return backends.driver.move(from, to);
    };
    await assert.rejects(copyRegistry(sourceBackends(), { store: backends.store, driver: failing }, silent), /simulated interruption/);
    const resumed = await copyRegistry(sourceBackends(), backends, silent);
    assert.equal(resumed.blobsSkipped, 3);
    assert.equal(resumed.blobsCopied, resumed.blobsTotal - 3);
    const report = await verifyCopy(sourceBackends(), backends);
    assert.deepEqual(report.problems, []);
    assert.equal(report.tags, 6);
  });

  test('command copies a running registry', async () => {
    const cli = join(findRepositoryRoot(), 'bin', 'berth.js');
    const { stdout } = await run(process.execPath, [cli, 'migrate', '--from-data-dir', source.dataDir, '--to', target.configFile, '--verify'], {
      env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
    });
    assert.match(stdout, /copied 0 blobs .* skipped \d+ already there; 7 repositories, \d+ manifests, 6 tags/);
    assert.match(stdout, /verified \d+ blobs, \d+ manifests and 6 tags: identical/);
  });

  test('moved images pull with identical digests', async () => {
    const moved = await startBerth({ args: ['--config', target.configFile] });
    try {
      const env = await createContainersEnv(join(workDir, 'pull-containers'), [moved.host]);
      const { stdout } = await skopeo(env, ['inspect', '--raw', '--tls-verify=false', `docker://${moved.host}/moved/busybox:latest`]);
      assert.equal(sha256(stdout), layout.latest.manifest.digest);
      await skopeo(env, ['copy', '--src-tls-verify=false', `docker://${moved.host}/moved/busybox:latest`, `oci:${join(workDir, 'pulled')}:busybox`]);
      const index = JSON.parse(await readFile(join(workDir, 'pulled', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(index.manifests[0]?.digest, layout.latest.manifest.digest);
      for (const layer of layout.latest.layers) {
        const blob = await fetch(`${moved.url}/v2/moved/busybox/blobs/${layer.digest}`);
        assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), layer.digest);
      }
    } finally {
      await moved.stop();
    }
  });

  test('damaged source blob is not copied', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-migrate-damaged-'));
    try {
      const data = randomBytes(4096);
      const digest = sha256(data);
      const store = openSqliteStore(join(root, 'metadata.db'));
      opened.push(store);
      await store.migrate();
      await store.putBlob(digest, data.length);
      const driver = new FilesystemDriver(root);
      const writer = await driver.writer(`blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`, 0);
      await writer.write(randomBytes(4096));
      await writer.commit();
      const backends = target.backends();
      await assert.rejects(copyRegistry({ store, driver }, backends, silent), DigestMismatchError);
      assert.equal(await backends.store.getBlob(digest), undefined);
      await assert.rejects(backends.driver.stat(`blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
