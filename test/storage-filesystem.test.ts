import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../src/storage/filesystem.js';
import { runStorageDriverSuite } from './storage-driver-suite.js';

runStorageDriverSuite('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-driver-'));
  return {
    driver: new FilesystemDriver(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
