/** The shape of a comparison workload and what it reports. */
import type { RandomContent } from '../content.js';
import type { RegistryClient } from '../http.js';
import type { Recorder } from '../measure.js';
import type { BenchSettings } from '../options.js';
import type { RegistryServer } from '../servers.js';
import type { ToolPaths } from '../tools.js';

/** One number that a workload reports per repetition. */
export interface MetricSpec {
  key: string;
  label: string;
  unit: string;
  /** Whether a larger value is better (throughput), worse (time, latency) or neither (a count that describes the run). */
  better: 'higher' | 'lower' | 'neither';
  /** Decimal places when printed. */
  digits: number;
}

/** Inputs of a workload: the settings, the random content, the tools, a scratch directory and the dd test. */
export interface RunContext {
  settings: BenchSettings;
  content: RandomContent;
  tools: ToolPaths;
  /** Directory for the workload's own files, removed at the end of the run. */
  scratchDir: string;
  /**
   * Runs the dd synced-write test on the registries' filesystem, records its MiB/s for the
   * report and returns it. Absent when the registries store blobs elsewhere, as in the --s3 mode.
   */
  measureSyncedWrite?(): Promise<number>;
}

/** A registry under test and a client bound to it. */
export interface Target {
  server: RegistryServer;
  client: RegistryClient;
}

/** A workload prepared on one running registry. */
export interface WorkloadSession {
  /** Runs one repetition and returns its metric values, timing only what `recorder.measure` wraps. */
  run(repetition: number, recorder: Recorder): Promise<Record<string, number>>;
  /** Removes what the session left in the scratch directory. */
  close?(): Promise<void>;
}

/** A workload that runs against both registries in turn. */
export interface Workload {
  /** Short name for `--only`. */
  id: string;
  title: string;
  /** Describes the sizes and counts that `settings` give the workload, for the report. */
  detail(settings: BenchSettings): string;
  /**
   * Whether each repetition runs on newly started registries with empty storage, so that
   * repetitions do not find earlier content and big blobs do not pile up on disk.
   */
  freshServersEachRepetition: boolean;
  /** Whether the workload moves blobs, which makes its peak RSS count for the push-and-pull memory target. */
  transfersBlobs: boolean;
  metrics: MetricSpec[];
  /** Blob sizes that the workload takes from RandomContent, so that their hashes are prepared before timing. */
  blobSizes(settings: BenchSettings): number[];
  /** Prepares the workload on a freshly started or reused registry (untimed). */
  start(context: RunContext, target: Target): Promise<WorkloadSession>;
}

/** Runs `task(index)` for indexes 0..count-1 with at most `concurrency` tasks at a time; rejects on the first failure. */
export async function runPool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < count) {
      const index = next;
      next += 1;
      try {
        await task(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
