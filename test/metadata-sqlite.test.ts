import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/metadata/sqlite.js';
import { runMetadataStoreSuite } from './metadata-store-suite.js';

runMetadataStoreSuite('sqlite', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'berth-sqlite-'));
  const store = openSqliteStore(join(directory, 'metadata.db'));
  await store.migrate();
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});
