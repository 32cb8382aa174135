/**
 * The --s3 mode: the comparison's workloads on berth (metadata in PostgreSQL, blobs in S3)
 * and Distribution (S3) on the same S3 store, at each node count of the settings in turn.
 */
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeBackends } from './backend-versions.js';
import { runComparison } from './compare.js';
import { RandomContent } from './content.js';
import { describeMachine } from './machine.js';
import type { BenchSettings } from './options.js';
import type { ComparisonReport } from './report.js';
import { formatS3Text } from './report-s3.js';
import type { NodeCountRun, S3Report } from './report-s3.js';
import { s3Starter } from './s3-registries.js';
import { createBenchBucket, deleteBucket, s3Client, s3StoreFromEnvironment } from './s3-store.js';
import { COMPARISON_TOOLS, locateTools, toolPath } from './tools.js';
import type { Workload } from './workloads/types.js';

/** Tools of the --s3 mode: those of the comparison and nginx. */
const S3_TOOLS = [...COMPARISON_TOOLS, { command: 'nginx', debianPackage: 'nginx' }];

/** Inputs of the --s3 mode. */
export interface S3ModeSetup {
  settings: BenchSettings;
  repositoryRoot: string;
  /** The run's temporary directory. */
  runDir: string;
  workloads: readonly Workload[];
  log: (line: string) => void;
}

/**
 * Runs the workloads at each node count and returns the report. Throws S3SetupError when the
 * S3 variables are missing, and any error of the store or PostgreSQL before the first workload.
 * Workload failures do not throw: they are in the report.
 */
export async function runS3Mode(setup: S3ModeSetup): Promise<S3Report> {
  const { settings, log } = setup;
  const store = s3StoreFromEnvironment();
  const tools = locateTools(S3_TOOLS);
  const s3 = s3Client(store);
  try {
    const startedAt = new Date();
    const started = performance.now();
    log(`checking the S3 store at ${store.endpoint} (create and delete a bucket) and PostgreSQL at ${settings.postgresUrl}`);
    await deleteBucket(s3, await createBenchBucket(s3, 'check'));
    const backends = await describeBackends(settings.postgresUrl, toolPath(tools, 'nginx'));
    const machine = describeMachine(setup.repositoryRoot, setup.runDir, tools);
    log(
      `berth S3 benchmark${settings.quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, ` +
        `Distribution ${machine.toolVersions['docker-registry'] ?? 'unknown'}, Ceph ${backends.ceph}, PostgreSQL ${backends.postgres}, ` +
        `nginx ${backends.nginx}, berth ${machine.berthCommit}`,
    );

    const blobSizes = setup.workloads.flatMap((workload) => workload.blobSizes(settings));
    const fileSize = Math.max(0, ...blobSizes);
    if (fileSize > 0) {
      log(`preparing random content (${fileSize} bytes, cached in ${settings.cacheDir}) and its hashes`);
    }
    const content = await RandomContent.prepare(settings.cacheDir, fileSize, blobSizes);
    const scratchDir = join(setup.runDir, 'scratch');
    await mkdir(scratchDir, { recursive: true });
    // No measureSyncedWrite: the blobs go to S3, so the dd test of the local disk does not apply.
    const context = { settings, content, tools, scratchDir };

    const runs: NodeCountRun[] = [];
    for (const nodes of settings.nodeCounts) {
      log(`--- ${nodes} node(s) per registry${nodes > 1 ? ' behind nginx' : ''} ---`);
      const serversDir = join(setup.runDir, `servers-${nodes}`);
      await mkdir(serversDir, { recursive: true });
      const runStartedAt = new Date();
      const runStarted = performance.now();
      const loadAtStart = loadavg();
      const startRegistry = s3Starter({ repositoryRoot: setup.repositoryRoot, serversDir, tools, store, s3, postgresUrl: settings.postgresUrl, nodes });
      const results = await runComparison({ repositoryRoot: setup.repositoryRoot, serversDir, context, log, startRegistry }, setup.workloads);
      const report: ComparisonReport = {
        settings,
        machine,
        startedAt: runStartedAt,
        durationSeconds: (performance.now() - runStarted) / 1000,
        syncedWrite: undefined,
        syncedWriteTiming: 'not measured: the blobs go to S3',
        loadAverage: { start: loadAtStart, end: loadavg() },
        results,
      };
      const run = { nodes, report };
      log(formatS3Text(run));
      runs.push(run);
    }
    return { settings, machine, backends, endpoint: store.endpoint, startedAt, durationSeconds: (performance.now() - started) / 1000, runs };
  } finally {
    s3.destroy();
  }
}

/** Returns whether any registry failed a workload in `report`. */
export function s3RunFailed(report: S3Report): boolean {
  return report.runs.some((run) =>
    run.report.results.some((result) => result.runs.berth.error !== undefined || result.runs.distribution.error !== undefined),
  );
}
