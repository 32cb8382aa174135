/**
 * Entry point of `npm run bench`: compares berth with CNCF Distribution, with --s3 compares
 * them on PostgreSQL and S3, or with --scale measures berth alone at growing counts. See
 * `npm run bench -- --help`.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { findRepositoryRoot } from '../test/helpers/process.js';
import { runComparison } from './compare.js';
import { RandomContent } from './content.js';
import { measureSyncedWrite } from './disk.js';
import { writeDocSection } from './docs.js';
import { describeMachine } from './machine.js';
import { parseArguments, usage, UsageError } from './options.js';
import type { BenchSettings } from './options.js';
import { formatComparisonMarkdown, formatComparisonText } from './report.js';
import type { ComparisonReport } from './report.js';
import { writeProfileReports } from './profile/report.js';
import { formatScaleMarkdown, formatScaleText } from './report-scale.js';
import { formatS3Markdown } from './report-s3.js';
import { deleteLeftoverStorage } from './s3-registries.js';
import { runS3Mode, s3RunFailed } from './s3-mode.js';
import { S3SetupError } from './s3-store.js';
import { runScale } from './scale.js';
import { killAllServers } from './servers.js';
import { COMPARISON_TOOLS, locateTools, MissingToolsError, toolPath } from './tools.js';
import { chunkedPush, monolithicPush } from './workloads/blob-push.js';
import { blobPull } from './workloads/blob-pull.js';
import { manifestGet, manifestHead } from './workloads/manifest-load.js';
import { skopeoCopy } from './workloads/skopeo-copy.js';
import { smallImages } from './workloads/small-images.js';
import { tagsWorkload } from './workloads/tags.js';
import type { Workload } from './workloads/types.js';

/** Every comparison workload, in the order of a run. */
const WORKLOADS: readonly Workload[] = [monolithicPush, chunkedPush, blobPull, manifestGet, manifestHead, tagsWorkload, skopeoCopy, smallImages];

const DOC_PATH = ['docs', 'benchmarks.md'];
/** Time an interrupted --s3 run spends deleting its buckets and schemas before it exits. */
const LEFTOVER_DELETE_TIMEOUT_MS = 60_000;
const PROFILE_PATH = ['docs', 'profiles'];

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: BenchSettings | 'help';
  try {
    parsed = parseArguments(argv, WORKLOADS.map((workload) => workload.id));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed === 'help') {
    process.stdout.write(usage(WORKLOADS.map((workload) => workload.id)));
    return 0;
  }
  const settings = parsed;
  const repositoryRoot = findRepositoryRoot();

  await mkdir(settings.tmpBase, { recursive: true });
  const runDir = await mkdtemp(join(settings.tmpBase, 'berth-bench-'));
  const removeRunDir = (): void => {
    killAllServers();
    rmSync(runDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench: received ${signal}, stopping the servers and deleting ${runDir} and the S3 buckets and schemas of the run\n`);
    removeRunDir();
    void deleteLeftoverStorage(LEFTOVER_DELETE_TIMEOUT_MS).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    switch (settings.mode) {
      case 'scale':
        return await scaleMode(settings, repositoryRoot, runDir);
      case 's3':
        return await s3Mode(settings, repositoryRoot, runDir);
      default:
        return await comparisonMode(settings, repositoryRoot, runDir);
    }
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

async function comparisonMode(settings: BenchSettings, repositoryRoot: string, runDir: string): Promise<number> {
  const tools = locateTools(COMPARISON_TOOLS);
  const workloads = WORKLOADS.filter((workload) => settings.only === undefined || settings.only.has(workload.id));
  const startedAt = new Date();
  const started = performance.now();
  const loadAtStart = loadavg();
  const machine = describeMachine(repositoryRoot, runDir, tools);
  log(
    `berth benchmark${settings.quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, ` +
      `Node.js ${machine.node}, Distribution ${machine.toolVersions['docker-registry'] ?? 'unknown'}, berth ${machine.berthCommit}`,
  );
  log(`run directory ${runDir} (${machine.filesystem})`);

  const blobSizes = workloads.flatMap((workload) => workload.blobSizes(settings));
  const fileSize = Math.max(0, ...blobSizes);
  if (fileSize > 0) {
    log(`preparing random content (${fileSize} bytes, cached in ${settings.cacheDir}) and its hashes`);
  }
  const content = await RandomContent.prepare(settings.cacheDir, fileSize, blobSizes);

  const syncedWrite: number[] = [];
  const runSyncedWrite = async (): Promise<number> => {
    const value = await measureSyncedWrite(toolPath(tools, 'dd'), runDir, settings.ddCount);
    syncedWrite.push(value);
    log(`  dd conv=fdatasync before the next push: ${value.toFixed(1)} MiB/s`);
    return value;
  };

  const scratchDir = join(runDir, 'scratch');
  const serversDir = join(runDir, 'servers');
  await mkdir(scratchDir, { recursive: true });
  await mkdir(serversDir, { recursive: true });
  const context = { settings, content, tools, scratchDir, measureSyncedWrite: runSyncedWrite };
  // Raw .cpuprofile files are large, so they stay in the run directory, which is deleted at the end.
  const profileDir = settings.profile ? join(runDir, 'profiles') : undefined;
  const results = await runComparison({ repositoryRoot, serversDir, context, log, profileDir }, workloads);
  // The push workloads run dd before each repetition; without them, dd runs here.
  let syncedWriteTiming = 'one before each repetition of the monolithic and chunked pushes';
  if (syncedWrite.length === 0) {
    syncedWriteTiming = 'all after the workloads';
    for (let repetition = 0; repetition < settings.repetitions; repetition += 1) {
      await runSyncedWrite();
    }
  }

  const report: ComparisonReport = {
    settings,
    machine,
    startedAt,
    durationSeconds: (performance.now() - started) / 1000,
    syncedWrite,
    syncedWriteTiming,
    loadAverage: { start: loadAtStart, end: loadavg() },
    results,
  };
  log(formatComparisonText(report));
  log(`run time: ${(report.durationSeconds / 60).toFixed(1)} minutes`);
  if (profileDir !== undefined) {
    const outputDir = settings.profileDir ?? join(repositoryRoot, ...PROFILE_PATH);
    await writeProfileReports({ settings, machine, startedAt, rawDir: profileDir, outputDir, log }, results);
  }
  if (settings.write) {
    const path = join(repositoryRoot, ...DOC_PATH);
    await writeDocSection(path, 'comparison', formatComparisonMarkdown(report));
    log(`wrote ${path}`);
  }
  const failed = results.some((result) => result.runs.berth.error !== undefined || result.runs.distribution.error !== undefined);
  return failed ? 1 : 0;
}

async function s3Mode(settings: BenchSettings, repositoryRoot: string, runDir: string): Promise<number> {
  const workloads = WORKLOADS.filter((workload) => settings.only === undefined || settings.only.has(workload.id));
  const report = await runS3Mode({ settings, repositoryRoot, runDir, workloads, log });
  log(`run time: ${(report.durationSeconds / 60).toFixed(1)} minutes`);
  if (settings.write) {
    const path = join(repositoryRoot, ...DOC_PATH);
    await writeDocSection(path, 's3', formatS3Markdown(report));
    log(`wrote ${path}`);
  }
  return s3RunFailed(report) ? 1 : 0;
}

async function scaleMode(settings: BenchSettings, repositoryRoot: string, runDir: string): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  const loadAtStart = loadavg();
  const machine = describeMachine(repositoryRoot, runDir, {});
  log(`berth scale benchmark${settings.quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, berth ${machine.berthCommit}`);
  const result = await runScale({ repositoryRoot, dataDir: join(runDir, 'berth'), settings, log });
  const report = {
    settings,
    machine,
    startedAt,
    durationSeconds: (performance.now() - started) / 1000,
    loadAverage: { start: loadAtStart, end: loadavg() },
    result,
  };
  log(formatScaleText(report));
  log(`run time: ${(report.durationSeconds / 60).toFixed(1)} minutes`);
  if (settings.write) {
    const path = join(repositoryRoot, ...DOC_PATH);
    await writeDocSection(path, 'scale', formatScaleMarkdown(report));
    log(`wrote ${path}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof MissingToolsError || error instanceof S3SetupError) {
      process.stderr.write(`bench: ${error.message}\n`);
    } else {
      process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
