/** Sequential synced-write speed of the filesystem under test, and cache flushing before blob pushes. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../test/helpers/tools.js';
import { MIB } from './stats.js';

/**
 * Runs `dd if=/dev/zero of=DIR/dd-test bs=16M count=COUNT conv=fdatasync` and returns the
 * write speed in MiB/s, computed from the byte count and seconds that dd prints. The file is
 * deleted afterwards.
 */
export async function measureSyncedWrite(ddPath: string, dir: string, count: number): Promise<number> {
  const file = join(dir, 'dd-test');
  try {
    const { stderr } = await run(ddPath, ['if=/dev/zero', `of=${file}`, 'bs=16M', `count=${count}`, 'conv=fdatasync'], {
      timeoutMs: 600_000,
      env: { ...process.env, LC_ALL: 'C' },
    });
    // GNU dd ends with a line like "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.2 s, 488 MB/s".
    const match = /^(\d+) bytes .* copied, ([\d.]+) s,/m.exec(stderr);
    if (match?.[1] === undefined || match[2] === undefined) {
      throw new Error(`cannot parse the dd output: ${stderr.trim()}`);
    }
    return Number(match[1]) / MIB / Number(match[2]);
  } finally {
    await rm(file, { force: true });
  }
}

/** Runs `sync`, so that dirty pages from earlier work are not written back during the next timed section. */
export async function flushFilesystems(syncPath: string): Promise<void> {
  await run(syncPath, [], { timeoutMs: 600_000 });
}
