import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { BackendUnavailableError } from '../src/errors.js';
import { openPostgresStore, type PostgresOptions } from '../src/metadata/postgres.js';
import type { SqlMetadataStore } from '../src/metadata/sql-store.js';
import { dropTestSchema, postgresUnavailable, testPostgresOptions, testPostgresUrl } from './helpers/postgres.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';
import { testManifest } from './metadata-store-suite.js';

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI === 'true') throw new Error(`${unavailable} (CI=true, so a missing database fails the tests)`);

const silent = pino({ level: 'silent' });

describe('postgres metadata store shared by several nodes', { skip: unavailable }, () => {
  const schemas: string[] = [];
  const stores: SqlMetadataStore[] = [];
  const open = (options: PostgresOptions): SqlMetadataStore => {
    const store = openPostgresStore(options, silent);
    stores.push(store);
    return store;
  };

  after(async () => {
    await Promise.all(stores.map((store) => store.close().catch(() => undefined)));
    for (const schema of schemas) await dropTestSchema(schema);
  });

  test('nodes starting at once on a new schema all migrate it once', async () => {
    const options = testPostgresOptions();
    schemas.push(options.schema);
    const nodes = Array.from({ length: 4 }, () => open(options));
    await Promise.all(nodes.map((store) => store.migrate()));
    const blob = `sha256:${'a'.repeat(64)}`;
    await (nodes[0] as SqlMetadataStore).putBlob(blob, 7);
    for (const store of nodes) assert.deepEqual(await store.getBlob(blob), { size: 7 });
  });

  describe('two nodes on one schema', () => {
    let first: SqlMetadataStore;
    let second: SqlMetadataStore;
    before(async () => {
      const options = testPostgresOptions();
      schemas.push(options.schema);
      first = open(options);
      second = open(options);
      await first.migrate();
      await second.migrate();
    });

    test('concurrent pushes of one tag leave it on one of the pushed manifests', async () => {
      const pushes = Array.from({ length: 20 }, (_, index) => testManifest('nodes/app', `push-${index}`));
      await Promise.all(pushes.map((manifest, index) => (index % 2 ? first : second).putManifest(manifest, { blobs: [], manifests: [] }, 'latest')));
      const onFirst = await first.getManifestByTag('nodes/app', 'latest');
      const onSecond = await second.getManifestByTag('nodes/app', 'latest');
      assert.ok(onFirst && pushes.some((manifest) => manifest.digest === onFirst.digest));
      assert.equal(onSecond?.digest, onFirst.digest);
      assert.deepEqual(await second.listTags('nodes/app', { limit: 10 }), ['latest']);
    });

    test('only one of two nodes advancing an upload from the same size wins', async () => {
      const id = '0c7f6a52-2f5e-4c44-9d0b-3f1e8e1b2a10';
      await first.createUpload(id, 'nodes/app', Date.now());
      const results = await Promise.all([first.advanceUpload(id, 0, 100, Date.now()), second.advanceUpload(id, 0, 200, Date.now())]);
      assert.deepEqual(results.filter(Boolean).length, 1);
      const size = (await second.getUpload(id))?.size;
      assert.equal(size, results[0] ? 100 : 200);
    });
  });

  test('a database outage fails requests as unavailable and the store recovers by itself', async () => {
    const target = new URL(testPostgresUrl);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    try {
      const viaProxy = new URL(testPostgresUrl);
      viaProxy.port = String(proxy.port);
      const options = testPostgresOptions(viaProxy.toString());
      schemas.push(options.schema);
      const store = open(options);
      await store.migrate();
      const blob = `sha256:${'b'.repeat(64)}`;
      await store.putBlob(blob, 42);

      await proxy.cut();
      await assert.rejects(store.getBlob(blob), BackendUnavailableError);
      await assert.rejects(store.ping(), BackendUnavailableError);
      await assert.rejects(store.putBlob(`sha256:${'c'.repeat(64)}`, 1), BackendUnavailableError);

      await proxy.restore();
      assert.deepEqual(await eventually(5, () => store.getBlob(blob)), { size: 42 });
      await store.ping();
    } finally {
      await proxy.cut();
    }
  });
});
