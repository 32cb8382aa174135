/**
 * The report of the --s3 mode: per node count, the results, server cost and targets tables
 * of the comparison (without the targets against dd, which measure a local disk), for the
 * terminal and for the s3 section of docs/benchmarks.md.
 */
import type { BackendVersions } from './backend-versions.js';
import type { MachineInfo } from './machine.js';
import type { BenchSettings } from './options.js';
import { costTable, evaluateTargets, formatLoadAverage, resultsTable, targetsTable, workloadFailures } from './report.js';
import type { ComparisonReport } from './report.js';
import { formatBytes, renderMarkdown, renderText } from './table.js';
import type { Table } from './table.js';

/** One comparison at a given number of nodes per registry. */
export interface NodeCountRun {
  nodes: number;
  report: ComparisonReport;
}

/** Everything one --s3 run measured, with the facts behind it. */
export interface S3Report {
  settings: BenchSettings;
  machine: MachineInfo;
  backends: BackendVersions;
  /** The S3 endpoint, such as `http://127.0.0.1:7480`. */
  endpoint: string;
  startedAt: Date;
  durationSeconds: number;
  runs: NodeCountRun[];
}

function nodesTitle(nodes: number): string {
  return nodes === 1 ? 'one node per registry' : `${nodes} nodes per registry behind nginx`;
}

/** Returns the report of one node count for the terminal. */
export function formatS3Text(run: NodeCountRun): string {
  const { report } = run;
  const failures = workloadFailures(report);
  return [
    '',
    `berth (PostgreSQL + S3) vs Distribution (S3), ${nodesTitle(run.nodes)}, ${report.settings.repetitions} repetitions each, ` +
      'medians with (min–max); ratio = berth/Distribution',
    `load average (1, 5, 15 min) at start; at end: ${formatLoadAverage(report.loadAverage)}`,
    '',
    renderText(resultsTable(report)),
    '',
    renderText(costTable(report)),
    '',
    renderText(targetsTable(evaluateTargets(report))),
    ...(failures.length > 0 ? ['', `${failures.length} workload failure(s):`, ...failures] : []),
    '',
  ].join('\n');
}

/** Returns the s3 section of docs/benchmarks.md. */
export function formatS3Markdown(report: S3Report): string {
  const { settings, machine, backends } = report;
  const command = `npm run bench -- --s3${settings.quick ? ' --quick' : ''}`;
  const machineTable: Table = {
    headers: ['machine and software', ''],
    rows: [
      ['CPU', `${machine.cpuModel}, ${machine.cores} cores`],
      ['memory', `${machine.memoryGiB.toFixed(1)} GiB`],
      ['kernel', machine.kernel],
      ['Node.js (berth and the benchmark client)', machine.node],
      ['berth', `commit ${machine.berthCommit}`],
      ['Distribution', `${machine.toolVersions['docker-registry'] ?? 'unknown'} (Debian package docker-registry)`],
      ['S3 store', `Ceph RADOS Gateway ${backends.ceph}, one memstore OSD, at ${report.endpoint}`],
      ['PostgreSQL', backends.postgres],
      ['nginx', backends.nginx],
      ['wrk, ab, skopeo, curl', ['wrk', 'ab', 'skopeo', 'curl'].map((tool) => `${tool} ${machine.toolVersions[tool] ?? 'unknown'}`).join(', ')],
    ],
  };
  const sections = report.runs.flatMap((run) => nodeCountSection(run));
  const workloads = report.runs[0]?.report.results ?? [];
  const failures = report.runs.flatMap((run) => workloadFailures(run.report).map((failure) => `${run.nodes} node(s): ${failure}`));

  return [
    '## berth on PostgreSQL and S3, Distribution on S3',
    '',
    `Measured on ${report.startedAt.toISOString().slice(0, 10)} by \`${command}\` (bench/run.ts) in ` +
      `${(report.durationSeconds / 60).toFixed(1)} minutes: ${settings.repetitions} repetitions of each workload on each registry, ` +
      'berth first and Distribution second in every repetition. berth kept its metadata in PostgreSQL and its blobs in S3; ' +
      'Distribution kept everything in S3. Every server start got a new bucket of the same Ceph store (and berth a new ' +
      'schema), deleted when it stopped. Everything ran on 127.0.0.1 of the machine below, with the benchmark client, ' +
      'Ceph and PostgreSQL on the same cores.',
    '',
    renderMarkdown(machineTable),
    '',
    `Blob sizes are smaller than in the filesystem comparison, because the memstore OSD keeps every object in RAM: ` +
      `${formatBytes(settings.monolithicBytes)} for the monolithic push, ${formatBytes(settings.chunkedBytes)} in ` +
      `${formatBytes(settings.chunkBytes)} PATCH requests for the chunked push, ${formatBytes(settings.pullBytes)} for the pull. ` +
      'The targets against dd do not apply, because the blobs do not go to a local disk.',
    '',
    ...sections,
    ...(failures.length > 0 ? ['### Failures', '', '```', ...failures, '```', ''] : []),
    '### Method',
    '',
    ...workloads.map((result) => `- ${result.workload.title} (\`${result.workload.id}\`): ${result.workload.detail(settings)}.`),
    '',
    ...S3_METHOD_NOTES,
    '',
  ].join('\n');
}

function nodeCountSection(run: NodeCountRun): string[] {
  const { report } = run;
  const balancerNote =
    run.nodes > 1
      ? ` CPU seconds are summed over the ${run.nodes} processes of a registry, and peak RSS is the sum of each process's own ` +
        'peak, which can exceed their combined peak at any one moment. nginx is left out of both and has its own CPU row.'
      : '';
  return [
    `### ${run.nodes === 1 ? 'One node' : `${run.nodes} nodes behind nginx`}`,
    '',
    `Load average (1, 5, 15 min) at the start; at the end: ${formatLoadAverage(report.loadAverage)}. ` +
      'Each cell is the median of the repetitions, with the lowest and highest value in brackets; the ratio divides the medians, berth by Distribution.',
    '',
    renderMarkdown(resultsTable(report)),
    '',
    renderMarkdown(targetsTable(evaluateTargets(report))),
    '',
    'Server cost: CPU seconds (utime + stime from /proc/PID/stat) during the measured part of each repetition, and peak ' +
      'resident memory (VmHWM from /proc/PID/status, reset before each measured part).' +
      balancerNote,
    '',
    renderMarkdown(costTable(report)),
    '',
  ];
}

const S3_METHOD_NOTES = [
  '- berth: `metadata.driver: postgres` and `storage.driver: s3` with `forcePathStyle: true`, region us-east-1, its default ' +
    'part size (16 MiB) and no redirects, log level warn.',
  '- Distribution 2.8.2: `storage.s3` with `regionendpoint`, `region: us-east-1`, `secure: false`, `v4auth: true` and its ' +
    'default chunk size, `storage.redirect.disable: true` so that it serves blobs itself as berth does, delete enabled, the ' +
    'in-memory blob descriptor cache per process, log level warn and the access log off. It has no `forcepathstyle` key: with ' +
    '`regionendpoint` set it sends path-style requests. Its nodes share one `http.secret`.',
  '- With several nodes, each registry has its own nginx (one worker process) that sends requests round-robin to the nodes, ' +
    'with request and response buffering off, no body size limit and keep-alive connections to the nodes. Consecutive ' +
    'requests of one upload can reach different nodes.',
  '- Every pushed blob is new to the registry, as in the filesystem comparison. Pulls read from S3 through the registry; ' +
    'curl writes the body to /dev/null and the harness checks the status, the length and the Docker-Content-Digest header.',
  '- The push workloads start both registries on new buckets in every repetition. Pull, GET, HEAD and tags keep one pair ' +
    'of registries for all repetitions.',
];
