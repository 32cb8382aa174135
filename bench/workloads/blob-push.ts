/**
 * Monolithic and chunked pushes of one big blob with fresh content per push, on newly
 * started registries for each repetition. A small untimed push warms each server up. Before
 * each timed push, the dd synced-write test runs on the same filesystem, so that the report can
 * set the push against the disk speed of that moment. With S3 storage the context has no dd
 * test. Then `sync` writes back dirty pages.
 */
import { flushFilesystems } from '../disk.js';
import { checkBlob, pushChunked, pushMonolithic } from '../oci.js';
import { MIB } from '../stats.js';
import { formatBytes } from '../table.js';
import { toolPath } from '../tools.js';
import type { RunContext, Target, Workload } from './types.js';

/** Size of the untimed warm-up blob, pushed monolithically and in two chunks. */
export const WARMUP_BLOB_BYTES = 1 * MIB;

const THROUGHPUT = { key: 'mibPerSecond', label: 'throughput', unit: 'MiB/s', better: 'higher', digits: 1 } as const;

async function warmUp(context: RunContext, target: Target): Promise<void> {
  const repository = 'bench/warmup';
  await pushMonolithic(target.client, repository, context.content.freshBlob(WARMUP_BLOB_BYTES));
  await pushChunked(target.client, repository, context.content.freshBlob(WARMUP_BLOB_BYTES), WARMUP_BLOB_BYTES / 2);
}

/** Monolithic push: POST, then PUT `?digest=` with the whole blob in the body. */
export const monolithicPush: Workload = {
  id: 'mono',
  title: 'monolithic push',
  detail: (settings) => `one ${formatBytes(settings.monolithicBytes)} blob: POST, then PUT ?digest= with the whole body`,
  freshServersEachRepetition: true,
  transfersBlobs: true,
  metrics: [THROUGHPUT],
  blobSizes: (settings) => [settings.monolithicBytes, WARMUP_BLOB_BYTES],
  async start(context, target) {
    await warmUp(context, target);
    return {
      async run(repetition, recorder) {
        const repository = `bench/mono-${repetition}`;
        const blob = context.content.freshBlob(context.settings.monolithicBytes);
        await context.measureSyncedWrite?.();
        await flushFilesystems(toolPath(context.tools, 'sync'));
        const { seconds } = await recorder.measure(() => pushMonolithic(target.client, repository, blob));
        await checkBlob(target.client, repository, blob.digest, blob.size);
        return { mibPerSecond: blob.size / MIB / seconds };
      },
    };
  },
};

/** Chunked push: POST, PATCH chunks with Content-Range, then PUT `?digest=` without a body. */
export const chunkedPush: Workload = {
  id: 'chunked',
  title: 'chunked push',
  detail: (settings) =>
    `one ${formatBytes(settings.chunkedBytes)} blob in ${formatBytes(settings.chunkBytes)} PATCH requests with Content-Range, then PUT ?digest=`,
  freshServersEachRepetition: true,
  transfersBlobs: true,
  metrics: [THROUGHPUT],
  blobSizes: (settings) => [settings.chunkedBytes, WARMUP_BLOB_BYTES],
  async start(context, target) {
    await warmUp(context, target);
    return {
      async run(repetition, recorder) {
        const repository = `bench/chunked-${repetition}`;
        const blob = context.content.freshBlob(context.settings.chunkedBytes);
        await context.measureSyncedWrite?.();
        await flushFilesystems(toolPath(context.tools, 'sync'));
        const { seconds } = await recorder.measure(() =>
          pushChunked(target.client, repository, blob, context.settings.chunkBytes),
        );
        await checkBlob(target.client, repository, blob.digest, blob.size);
        return { mibPerSecond: blob.size / MIB / seconds };
      },
    };
  },
};
