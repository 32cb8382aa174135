/**
 * The comparison report: the results table (medians with min-max spread and the ratio
 * berth/Distribution), the server cost table, and the targets with MET or NOT MET.
 */
import { COST_KEYS, REGISTRY_ORDER } from './compare.js';
import type { WorkloadResult } from './compare.js';
import type { MachineInfo } from './machine.js';
import type { BenchSettings } from './options.js';
import { REGISTRY_LABELS } from './servers.js';
import type { RegistryName } from './servers.js';
import { summarize } from './stats.js';
import { formatBytes, renderMarkdown, renderText } from './table.js';
import type { Table } from './table.js';

/** Everything one comparison run measured, with the facts behind it. */
export interface ComparisonReport {
  settings: BenchSettings;
  machine: MachineInfo;
  startedAt: Date;
  durationSeconds: number;
  /**
   * MiB/s of each `dd ... conv=fdatasync` run on the storage filesystem; undefined when the
   * registries keep blobs elsewhere (--s3), which leaves out the targets against dd.
   */
  syncedWrite: number[] | undefined;
  /** When the dd runs happened, for the report. */
  syncedWriteTiming: string;
  /** The 1, 5 and 15 minute load averages at the start and at the end of the run, which show other work on the machine. */
  loadAverage: { start: number[]; end: number[] };
  results: WorkloadResult[];
}

/** One target and whether the run met it. */
export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  verdict: 'MET' | 'NOT MET' | 'NO DATA';
}

/** Returns "median (min–max)" of `values` with `digits` decimals, or `failure` when there are none. */
export function formatSpread(values: readonly number[] | undefined, digits: number, failure = 'no data'): string {
  const summary = summarize(values ?? []);
  if (summary === undefined) {
    return failure;
  }
  const format = (value: number): string => value.toFixed(digits);
  return summary.min === summary.max ? format(summary.median) : `${format(summary.median)} (${format(summary.min)}–${format(summary.max)})`;
}

function medianOf(result: WorkloadResult | undefined, registry: RegistryName, key: string): number | undefined {
  return summarize(result?.runs[registry].values[key] ?? [])?.median;
}

function ratioText(berth: number | undefined, distribution: number | undefined): string {
  return berth === undefined || distribution === undefined || distribution === 0 ? '–' : (berth / distribution).toFixed(2);
}

function failureText(result: WorkloadResult, registry: RegistryName): string {
  return result.runs[registry].error === undefined ? 'no data' : 'FAILED';
}

/** Returns the results table: one row per workload metric. */
export function resultsTable(report: ComparisonReport): Table {
  const rows: string[][] = [];
  for (const result of report.results) {
    for (const metric of result.workload.metrics) {
      const berth = result.runs.berth.values[metric.key];
      const distribution = result.runs.distribution.values[metric.key];
      rows.push([
        `${result.workload.title}: ${metric.label}`,
        metric.unit,
        formatSpread(berth, metric.digits, failureText(result, 'berth')),
        formatSpread(distribution, metric.digits, failureText(result, 'distribution')),
        ratioText(medianOf(result, 'berth', metric.key), medianOf(result, 'distribution', metric.key)),
        metric.better === 'neither' ? '–' : metric.better,
      ]);
    }
  }
  return {
    headers: ['workload: metric', 'unit', 'berth', 'Distribution', 'berth/Distribution', 'better'],
    rows,
    align: ['left', 'left', 'right', 'right', 'right', 'left'],
  };
}

/** Returns the server cost table: CPU seconds and peak RSS of each workload's measured sections. */
export function costTable(report: ComparisonReport): Table {
  const rows: string[][] = [];
  const hasBalancer = report.results.some((result) =>
    REGISTRY_ORDER.some((registry) => (result.runs[registry].values[COST_KEYS.balancerCpuSeconds] ?? []).length > 0),
  );
  const rowKinds: [string, string, string, number][] = [
    [COST_KEYS.cpuSeconds, 'server CPU', 'cpu-s', 2],
    [COST_KEYS.peakRssMiB, 'peak RSS', 'MiB', 1],
  ];
  if (hasBalancer) {
    rowKinds.push([COST_KEYS.balancerCpuSeconds, 'nginx CPU', 'cpu-s', 2]);
  }
  for (const result of report.results) {
    for (const [key, label, unit, digits] of rowKinds) {
      rows.push([
        `${result.workload.title}: ${label}`,
        unit,
        formatSpread(result.runs.berth.values[key], digits, failureText(result, 'berth')),
        formatSpread(result.runs.distribution.values[key], digits, failureText(result, 'distribution')),
        ratioText(medianOf(result, 'berth', key), medianOf(result, 'distribution', key)),
      ]);
    }
  }
  return {
    headers: ['workload: cost per repetition', 'unit', 'berth', 'Distribution', 'berth/Distribution'],
    rows,
    align: ['left', 'left', 'right', 'right', 'right'],
  };
}

/** Checks the targets of the ratios berth/Distribution (and of berth against dd) on the medians. */
export function evaluateTargets(report: ComparisonReport): TargetCheck[] {
  const find = (id: string): WorkloadResult | undefined => report.results.find((result) => result.workload.id === id);
  const checks: TargetCheck[] = [];
  const missing = (id: string): string | undefined => {
    const result = find(id);
    if (result === undefined) {
      return `not run (--only)`;
    }
    for (const registry of REGISTRY_ORDER) {
      if (result.runs[registry].error !== undefined) {
        return `${REGISTRY_LABELS[registry]} failed`;
      }
    }
    return undefined;
  };
  const ratioCheck = (name: string, id: string, key: string, target: string, accept: (ratio: number) => boolean): void => {
    const problem = missing(id);
    const berth = medianOf(find(id), 'berth', key);
    const distribution = medianOf(find(id), 'distribution', key);
    if (problem !== undefined || berth === undefined || distribution === undefined || distribution === 0) {
      checks.push({ name, target, measured: problem ?? 'no data', verdict: problem === 'berth failed' ? 'NOT MET' : 'NO DATA' });
      return;
    }
    const ratio = berth / distribution;
    checks.push({ name, target, measured: `${ratio.toFixed(2)}x`, verdict: accept(ratio) ? 'MET' : 'NOT MET' });
  };
  const ddMedian = summarize(report.syncedWrite ?? [])?.median;
  const ddCheck = (name: string, id: string): void => {
    const berth = medianOf(find(id), 'berth', 'mibPerSecond');
    const problem = missing(id);
    if (berth === undefined || ddMedian === undefined || (problem !== undefined && problem !== 'Distribution failed')) {
      checks.push({ name, target: '>= 80% of dd', measured: problem ?? 'no data', verdict: problem === 'berth failed' ? 'NOT MET' : 'NO DATA' });
      return;
    }
    const fraction = berth / ddMedian;
    checks.push({
      name,
      target: '>= 80% of dd',
      measured: `${(fraction * 100).toFixed(0)}% (${berth.toFixed(1)} of ${ddMedian.toFixed(1)} MiB/s)`,
      verdict: fraction >= 0.8 ? 'MET' : 'NOT MET',
    });
  };

  const withDd = report.syncedWrite !== undefined;
  ratioCheck('monolithic push throughput', 'mono', 'mibPerSecond', '>= 1.5x', (ratio) => ratio >= 1.5);
  if (withDd) {
    ddCheck('monolithic push vs synced write', 'mono');
  }
  ratioCheck('chunked push throughput', 'chunked', 'mibPerSecond', '>= 1.5x', (ratio) => ratio >= 1.5);
  if (withDd) {
    ddCheck('chunked push vs synced write', 'chunked');
  }
  ratioCheck('blob pull throughput', 'pull', 'mibPerSecond', '>= 1.0x', (ratio) => ratio >= 1.0);
  ratioCheck('manifest GET req/s', 'get', 'requestsPerSecond', '>= 4x', (ratio) => ratio >= 4);
  ratioCheck('manifest GET p99 latency', 'get', 'p99Ms', '<= 0.25x', (ratio) => ratio <= 0.25);
  ratioCheck('manifest HEAD req/s', 'head', 'requestsPerSecond', '>= 4x', (ratio) => ratio >= 4);
  ratioCheck('manifest HEAD p99 latency', 'head', 'p99Ms', '<= 0.25x', (ratio) => ratio <= 0.25);
  ratioCheck('tag PUTs time', 'tags', 'putSeconds', '<= 0.33x (>= 3x faster)', (ratio) => ratio <= 1 / 3);
  checks.push(tagPagingCheck(report, find('tags')));
  ratioCheck('tag listing time', 'tags', 'listMs', '<= 1.0x', (ratio) => ratio <= 1.0);
  checks.push(peakRssCheck(report));
  return checks;
}

/** berth must return ceil(count / n) pages of at most n tags; the listing's contents are checked during the run. */
function tagPagingCheck(report: ComparisonReport, result: WorkloadResult | undefined): TargetCheck {
  const { tagCount, tagPageSize } = report.settings;
  const expectedPages = Math.ceil(tagCount / tagPageSize);
  const name = 'tag listing pages (berth)';
  const target = `${expectedPages} pages of <= ${tagPageSize}`;
  const runs = result?.runs.berth;
  if (runs === undefined || runs.error !== undefined || (runs.values.listPages ?? []).length === 0) {
    return { name, target, measured: runs?.error !== undefined ? 'berth failed' : 'no data', verdict: runs?.error !== undefined ? 'NOT MET' : 'NO DATA' };
  }
  const pages = runs.values.listPages ?? [];
  const largest = Math.max(...(runs.values.listLargestPage ?? []));
  const correct = pages.every((count) => count === expectedPages) && largest <= tagPageSize;
  return {
    name,
    target,
    measured: `${[...new Set(pages)].join('/')} pages, largest ${largest}, every tag once`,
    verdict: correct ? 'MET' : 'NOT MET',
  };
}

/** Compares the highest peak RSS of each registry over all workloads that move blobs. */
function peakRssCheck(report: ComparisonReport): TargetCheck {
  const transfers = report.results.filter((result) => result.workload.transfersBlobs);
  const peak = (registry: RegistryName): number | undefined => {
    const values = transfers.flatMap((result) => result.runs[registry].values[COST_KEYS.peakRssMiB] ?? []);
    return values.length === 0 ? undefined : Math.max(...values);
  };
  const berth = peak('berth');
  const distribution = peak('distribution');
  const name = 'peak RSS during pushes and pulls';
  const target = '<= 2x';
  if (berth === undefined || distribution === undefined) {
    return { name, target, measured: 'no data', verdict: 'NO DATA' };
  }
  const ratio = berth / distribution;
  return {
    name,
    target,
    measured: `${ratio.toFixed(2)}x (${berth.toFixed(1)} vs ${distribution.toFixed(1)} MiB)`,
    verdict: ratio <= 2 ? 'MET' : 'NOT MET',
  };
}

/** Returns the targets as a table. */
export function targetsTable(checks: readonly TargetCheck[]): Table {
  return {
    headers: ['target (berth/Distribution medians)', 'goal', 'measured', 'verdict'],
    rows: checks.map((check) => [check.name, check.target, check.measured, check.verdict]),
  };
}

/** Formats load averages as "1.20 1.05 0.90; 1.80 1.50 1.10" (start; end). */
export function formatLoadAverage(loadAverage: { start: number[]; end: number[] }): string {
  const format = (values: number[]): string => values.map((value) => value.toFixed(2)).join(' ');
  return `${format(loadAverage.start)}; ${format(loadAverage.end)}`;
}

function syncedWriteLine(report: ComparisonReport): string {
  const count = report.settings.ddCount;
  const values = report.syncedWrite ?? [];
  return (
    `synced sequential write speed (dd if=/dev/zero bs=16M count=${count} conv=fdatasync, ${formatBytes(count * 16 * 1024 * 1024)}, ` +
    `same filesystem as the registries' storage): ${formatSpread(values, 1)} MiB/s over ${values.length} ` +
    `runs (${report.syncedWriteTiming})`
  );
}

/** Returns the error message of every registry that failed a workload, in run order. */
export function workloadFailures(report: ComparisonReport): string[] {
  return report.results.flatMap((result) =>
    REGISTRY_ORDER.flatMap((registry) => (result.runs[registry].error === undefined ? [] : [result.runs[registry].error as string])),
  );
}

/** Returns the report for the terminal. */
export function formatComparisonText(report: ComparisonReport): string {
  const checks = evaluateTargets(report);
  const failures = workloadFailures(report);
  return [
    '',
    `berth vs Distribution, ${report.settings.repetitions} repetitions each, medians with (min–max); ratio = berth/Distribution`,
    syncedWriteLine(report),
    `load average (1, 5, 15 min) at start; at end: ${formatLoadAverage(report.loadAverage)}`,
    '',
    renderText(resultsTable(report)),
    '',
    renderText(costTable(report)),
    '',
    renderText(targetsTable(checks)),
    ...(failures.length > 0 ? ['', `${failures.length} workload failure(s):`, ...failures] : []),
    '',
  ].join('\n');
}

/** Returns the Markdown section of docs/benchmarks.md for this run. */
export function formatComparisonMarkdown(report: ComparisonReport): string {
  const { settings, machine } = report;
  const minutes = (report.durationSeconds / 60).toFixed(1);
  const machineTable: Table = {
    headers: ['machine and software', ''],
    rows: [
      ['CPU', `${machine.cpuModel}, ${machine.cores} cores`],
      ['memory', `${machine.memoryGiB.toFixed(1)} GiB`],
      ['kernel', machine.kernel],
      ['load average (1, 5, 15 min) at start; at end', formatLoadAverage(report.loadAverage)],
      ['filesystem of the registries\' storage', machine.filesystem],
      ['Node.js (berth and the benchmark client)', machine.node],
      ['berth', `commit ${machine.berthCommit}`],
      ['Distribution', `${machine.toolVersions['docker-registry'] ?? 'unknown'} (Debian package docker-registry)`],
      ['wrk, ab, skopeo, curl', ['wrk', 'ab', 'skopeo', 'curl'].map((tool) => `${tool} ${machine.toolVersions[tool] ?? 'unknown'}`).join(', ')],
    ],
  };
  const workloadLines = report.results.map((result) => `- ${result.workload.title} (\`${result.workload.id}\`): ${result.workload.detail(settings)}.`);
  const failures = workloadFailures(report);

  return [
    '## berth and Distribution side by side',
    '',
    `Measured on ${report.startedAt.toISOString().slice(0, 10)} by \`npm run bench${settings.quick ? ' -- --quick' : ''}\` ` +
      `(bench/run.ts) in ${minutes} minutes: ${settings.repetitions} repetitions of each workload on each registry, ` +
      'berth first and Distribution second in every repetition. Both ran on 127.0.0.1 of the machine below, ' +
      'with the benchmark client on the same cores.',
    '',
    renderMarkdown(machineTable),
    '',
    `The ${syncedWriteLine(report)}. dd writes the whole file before its one fdatasync, so a registry that syncs ` +
      'while it receives can push faster than dd writes.',
    '',
    '### Results',
    '',
    'Each cell is the median of the repetitions, with the lowest and highest value in brackets. ' +
      'The ratio divides the medians, berth by Distribution.',
    '',
    renderMarkdown(resultsTable(report)),
    '',
    '### Targets',
    '',
    renderMarkdown(targetsTable(evaluateTargets(report))),
    '',
    '### Server cost',
    '',
    'CPU seconds (utime + stime from /proc/PID/stat) of the server process during the measured part of each ' +
      'repetition, and its peak resident memory (VmHWM from /proc/PID/status, reset by writing 5 to ' +
      '/proc/PID/clear_refs before each measured part).',
    '',
    renderMarkdown(costTable(report)),
    '',
    ...(failures.length > 0 ? ['### Failures', '', '```', ...failures, '```', ''] : []),
    '### Method',
    '',
    ...workloadLines,
    '',
    ...METHOD_NOTES,
    '',
  ].join('\n');
}

const METHOD_NOTES = [
  '- Every pushed blob is new to the registry: a prefix of a cached random file followed by a 32-byte random ' +
    'nonce. The sha256 of each prefix is computed once before timing, and each digest is finished from a ' +
    'copy of that hash state.',
  '- The tag PUTs send one manifest under new tags, so they measure the deduplicated path on purpose: the cost ' +
    'of a tag, not of storing content. Each repetition tags in a new repository.',
  '- The push workloads (monolithic, chunked, small images, skopeo) start both registries with empty storage in ' +
    'every repetition and push a small untimed warm-up image. Before the timed part, the monolithic and chunked ' +
    'pushes run the dd test, and they and the small image pushes run `sync`. Pull, GET, HEAD and tags keep one ' +
    'pair of servers for all repetitions.',
  '- Pulls come from the page cache. curl writes the body to /dev/null, and the harness checks the status, the ' +
    'length and the Docker-Content-Digest header; the content is checked by hashing once, untimed.',
  '- ab prints latency percentiles in whole milliseconds, so HEAD p50 and p99 are rounded.',
  '- wrk 4.1 counts no HEAD responses, so HEAD runs under `ab -i -k` and GET under wrk; their request rates ' +
    'are not comparable with each other.',
  '- Distribution runs with a filesystem driver, delete enabled, the in-memory blob descriptor cache, log level warn ' +
    'and the access log off; berth with its default configuration and BERTH_LOG_LEVEL=warn.',
];
