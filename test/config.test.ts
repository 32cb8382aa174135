import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ConfigError, configKeys, envName, loadConfig, resolvePaths, unknownEnvironmentVariables } from '../src/config/load.js';
import { findRepositoryRoot } from './helpers/process.js';

const run = promisify(execFile);

/** Runs the berth command and returns its exit code and output, without throwing on failure. */
async function berth(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = findRepositoryRoot();
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'bin', 'berth.js'), ...args], { env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('configuration', () => {
  let directory: string;
  const file = (name: string): string => join(directory, name);

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'berth-config-'));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test('defaults are the embedded setup', () => {
    const config = loadConfig();
    assert.equal(config.listen, '0.0.0.0:5000');
    assert.equal(config.dataDir, './data');
    assert.equal(config.storage.driver, 'filesystem');
    assert.equal(config.metadata.driver, 'sqlite');
    assert.equal(config.limits.manifestMaxBytes, 4 * 1024 * 1024);
    const paths = resolvePaths(config);
    assert.equal(paths.storageRoot, join(process.cwd(), 'data', 'storage'));
    assert.equal(paths.sqlitePath, join(process.cwd(), 'data', 'metadata.db'));
  });

  test('file, environment and flags layer', async () => {
    await writeFile(file('layered.yaml'), 'listen: 127.0.0.1:6000\nlog:\n  level: warn\nlimits:\n  manifestMaxBytes: 1000\n');
    const fromFile = loadConfig({ file: file('layered.yaml') });
    assert.equal(fromFile.listen, '127.0.0.1:6000');
    assert.equal(fromFile.log.level, 'warn');
    const fromEnv = loadConfig({ file: file('layered.yaml'), env: { BERTH_LOG_LEVEL: 'debug', BERTH_LIMITS_MANIFEST_MAX_BYTES: '2000' } });
    assert.equal(fromEnv.log.level, 'debug');
    assert.equal(fromEnv.limits.manifestMaxBytes, 2000);
    assert.equal(fromEnv.listen, '127.0.0.1:6000');
    const fromFlags = loadConfig({ file: file('layered.yaml'), env: { BERTH_LISTEN: '127.0.0.1:7000' }, overrides: { listen: '127.0.0.1:8000' } });
    assert.equal(fromFlags.listen, '127.0.0.1:8000');
  });

  test('every key has an environment variable', () => {
    const keys = configKeys();
    assert.ok(keys.includes('uploads.expireAfterSeconds'));
    assert.equal(envName('uploads.expireAfterSeconds'), 'BERTH_UPLOADS_EXPIRE_AFTER_SECONDS');
    for (const key of keys) {
      assert.match(envName(key), /^BERTH_[A-Z0-9_]+$/);
    }
    const config = loadConfig({ env: { BERTH_STORAGE_FILESYSTEM_ROOT: '/srv/blobs', BERTH_METADATA_SQLITE_PATH: '/srv/meta.db' } });
    assert.equal(config.storage.filesystem.root, '/srv/blobs');
    assert.equal(config.metadata.sqlite.path, '/srv/meta.db');
  });

  test('invalid value names key and origin', async () => {
    await writeFile(file('bad-value.yaml'), 'limits:\n  manifestMaxBytes: -5\n');
    assert.throws(() => loadConfig({ file: file('bad-value.yaml') }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /limits\.manifestMaxBytes/);
      assert.match(error.message, /bad-value\.yaml/);
      return true;
    });
    assert.throws(() => loadConfig({ env: { BERTH_LISTEN: 'no-port' } }), /listen: .*HOST:PORT.*BERTH_LISTEN/);
    assert.throws(() => loadConfig({ env: { BERTH_LISTEN: '127.0.0.1:70000' } }), /listen/);
    assert.throws(() => loadConfig({ env: { BERTH_LOG_LEVEL: 'loud' } }), /log\.level/);
    assert.throws(() => loadConfig({ env: { BERTH_UPLOADS_EXPIRE_AFTER_SECONDS: 'soon' } }), /uploads\.expireAfterSeconds: invalid value "soon"/);
  });

  test('unknown key rejected', async () => {
    await writeFile(file('unknown.yaml'), 'listen: 127.0.0.1:5000\nlimts:\n  x: 1\nlog:\n  colour: red\n');
    assert.throws(() => loadConfig({ file: file('unknown.yaml') }), /unknown key .*limts/);
    assert.throws(() => loadConfig({ file: file('unknown.yaml') }), /log\.colour/);
    assert.throws(() => loadConfig({ file: file('unknown.yaml') }), /berth config keys/);
  });

  test('page sizes must be ordered', () => {
    assert.throws(
      () => loadConfig({ env: { BERTH_LIMITS_DEFAULT_PAGE_SIZE: '50', BERTH_LIMITS_MAX_PAGE_SIZE: '10' } }),
      /limits\.defaultPageSize must not be larger than limits\.maxPageSize/,
    );
    assert.equal(loadConfig({ env: { BERTH_LIMITS_DEFAULT_PAGE_SIZE: '10', BERTH_LIMITS_MAX_PAGE_SIZE: '10' } }).limits.maxPageSize, 10);
  });

  test('scale-out drivers need their settings', () => {
    assert.throws(() => loadConfig({ env: { BERTH_METADATA_DRIVER: 'postgres' } }), /metadata\.postgres\.url: .*must give the connection URL/);
    assert.throws(() => loadConfig({ env: { BERTH_STORAGE_DRIVER: 's3' } }), /storage\.s3\.bucket: .*must name the bucket/);
    assert.throws(() => loadConfig({ env: { BERTH_METADATA_DRIVER: 'mysql' } }), /metadata\.driver: invalid value "mysql"/);
    const config = loadConfig({
      env: {
        BERTH_METADATA_DRIVER: 'postgres',
        BERTH_METADATA_POSTGRES_URL: 'postgres://berth@db:5432/registry',
        BERTH_STORAGE_DRIVER: 's3',
        BERTH_STORAGE_S3_BUCKET: 'registry-blobs',
        BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'true',
      },
    });
    assert.equal(config.metadata.postgres.schema, 'public');
    assert.equal(config.metadata.postgres.poolSize, 10);
    assert.equal(config.storage.s3.forcePathStyle, true);
    assert.equal(config.storage.s3.partSizeMib, 16);
    assert.equal(config.storage.s3.redirect.enabled, false);
  });

  test('invalid scale-out values', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ BERTH_METADATA_POSTGRES_URL: 'mysql://db/registry' }, /metadata\.postgres\.url: invalid value "mysql:\/\/db\/registry": expected a URL starting with postgres:\/\//],
      [{ BERTH_METADATA_POSTGRES_SCHEMA: 'berth; drop table tags' }, /metadata\.postgres\.schema: .*letters, digits and underscores/],
      [{ BERTH_METADATA_POSTGRES_POOL_SIZE: '0' }, /metadata\.postgres\.poolSize/],
      [{ BERTH_STORAGE_S3_BUCKET: 'Bad_Bucket' }, /storage\.s3\.bucket: invalid value "Bad_Bucket": expected an S3 bucket name/],
      [{ BERTH_STORAGE_S3_ENDPOINT: 'ftp://store' }, /storage\.s3\.endpoint: .*expected an http:\/\/ or https:\/\/ URL/],
      [{ BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'yes' }, /storage\.s3\.forcePathStyle: invalid value "yes": expected true or false/],
      [{ BERTH_STORAGE_S3_PART_SIZE_MIB: '4' }, /storage\.s3\.partSizeMib/],
      [{ BERTH_STORAGE_S3_TIMEOUT_SECONDS: '0' }, /storage\.s3\.timeoutSeconds: invalid value "0": expected a number greater than 0/],
      [{ BERTH_STORAGE_S3_REDIRECT_EXPIRES_SECONDS: 'soon' }, /storage\.s3\.redirect\.expiresSeconds: invalid value "soon": expected a whole number/],
      [{ BERTH_STORAGE_S3_PREFIX: '/absolute/../up' }, /storage\.s3\.prefix/],
    ];
    for (const [env, expected] of cases) assert.throws(() => loadConfig({ env }), expected, JSON.stringify(env));
  });

  test('unreadable or malformed file', async () => {
    assert.throws(() => loadConfig({ file: file('missing.yaml') }), /cannot read configuration file/);
    await writeFile(file('broken.yaml'), 'listen: [unclosed\n');
    assert.throws(() => loadConfig({ file: file('broken.yaml') }), /not valid YAML/);
    await writeFile(file('list.yaml'), '- a\n- b\n');
    assert.throws(() => loadConfig({ file: file('list.yaml') }), /must contain a YAML mapping/);
    await writeFile(file('empty.yaml'), '');
    assert.equal(loadConfig({ file: file('empty.yaml') }).listen, '0.0.0.0:5000');
  });

  test('listen address forms', () => {
    for (const listen of ['127.0.0.1:5000', 'localhost:0', ':5000', '[::1]:5000']) {
      assert.equal(loadConfig({ overrides: { listen } }).listen, listen);
    }
    for (const listen of ['5000', '127.0.0.1', '127.0.0.1:-1', 'a b:5000', '::1:5000']) {
      assert.throws(() => loadConfig({ overrides: { listen } }), /listen/, listen);
    }
  });

  test('config check prints effective settings', async () => {
    await writeFile(file('check.yaml'), 'listen: 127.0.0.1:5001\n');
    const result = await berth(['config', 'check', file('check.yaml')], { BERTH_LOG_LEVEL: 'error' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /is valid/);
    assert.match(result.stdout, /listen: 127\.0\.0\.1:5001/);
    assert.match(result.stdout, /level: error/);
    assert.match(result.stdout, /manifestMaxBytes: 4194304/);
  });

  test('config check reports invalid key', async () => {
    await writeFile(file('check-bad.yaml'), 'uploads:\n  expireAfterSeconds: 0\n');
    const result = await berth(['config', 'check', file('check-bad.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /uploads\.expireAfterSeconds/);
    assert.equal(result.stdout, '');
  });

  test('misspelt variable gets a warning', async () => {
    assert.deepEqual(unknownEnvironmentVariables({ BERTH_STORAGE_S3_BUKET: 'x', BERTH_LOG_LEVEL: 'info', HOME: '/root' }), ['BERTH_STORAGE_S3_BUKET']);
    await writeFile(file('check-empty.yaml'), '');
    const result = await berth(['config', 'check', file('check-empty.yaml')], { BERTH_STORAGE_S3_BUKET: 'registry' });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /warning: BERTH_STORAGE_S3_BUKET sets no configuration key and was ignored/);
  });

  test('whole numbers expected', () => {
    assert.throws(() => loadConfig({ env: { BERTH_LIMITS_MAX_PAGE_SIZE: 'lots' } }), /limits\.maxPageSize: invalid value "lots": expected a whole number/);
    assert.throws(() => loadConfig({ env: { BERTH_METADATA_POSTGRES_POOL_SIZE: '2.5' } }), /poolSize: invalid value "2\.5": expected a whole number/);
    assert.throws(() => loadConfig({ env: { BERTH_SHUTDOWN_TIMEOUT_SECONDS: '-3' } }), /expected a number greater than 0/);
  });

  test('migrate rejects a missing source', async () => {
    await writeFile(file('target.yaml'), 'metadata:\n  driver: postgres\n  postgres: { url: "postgres://root@127.0.0.1:1/test" }\n');
    const result = await berth(['migrate', '--from-data-dir', file('no-such-data'), '--to', file('target.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no berth database at .*no-such-data\/metadata\.db: check --from-data-dir/);
  });

  test('migrate target ignores variables', async () => {
    await mkdir(file('source-data/storage'), { recursive: true });
    await writeFile(file('source-data/metadata.db'), '');
    await writeFile(file('target-nourl.yaml'), 'metadata:\n  driver: postgres\n');
    const result = await berth(['migrate', '--from-data-dir', file('source-data'), '--to', file('target-nourl.yaml')], {
      BERTH_METADATA_POSTGRES_URL: 'postgres://root@127.0.0.1:5432/test',
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /metadata\.postgres\.url.*BERTH_\* environment variables do not apply to --to/);
  });

  test('config keys lists variables', async () => {
    const result = await berth(['config', 'keys']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /limits\.manifestMaxBytes\s+BERTH_LIMITS_MANIFEST_MAX_BYTES/);
  });

  test('CLI usage errors exit 2', async () => {
    assert.equal((await berth(['frobnicate'])).code, 2);
    assert.equal((await berth(['serve', '--no-such-flag'])).code, 2);
    const badListen = await berth(['serve', '--listen', 'nonsense']);
    assert.equal(badListen.code, 2);
    assert.match(badListen.stderr, /listen/);
    assert.equal((await berth(['config', 'check'])).code, 2);
    assert.match((await berth(['serve', '--bogus'])).stderr, /berth --help/);
  });

  test('busy port gives advice', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await berth(['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', file('busy-data')], { BERTH_LOG_LEVEL: 'silent' });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /already in use: stop the other process or choose another address with --listen/);
    } finally {
      blocker.close();
    }
    const help = await berth(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /berth serve|serve/);
  });
});
