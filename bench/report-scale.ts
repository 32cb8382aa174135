/** Tables of the scale mode: latency per count, and how much each operation's median grew. */
import type { MachineInfo } from './machine.js';
import { formatLoadAverage } from './report.js';
import type { BenchSettings } from './options.js';
import { REPOSITORY_OPERATIONS, SERVER_WARMUP_REQUESTS, TAG_OPERATIONS } from './scale.js';
import type { ScaleLevel, ScaleResult } from './scale.js';
import { renderMarkdown, renderText } from './table.js';
import type { Table } from './table.js';

/** A scale run with the facts behind it. */
export interface ScaleReport {
  settings: BenchSettings;
  machine: MachineInfo;
  startedAt: Date;
  durationSeconds: number;
  /** The 1, 5 and 15 minute load averages at the start and at the end of the run. */
  loadAverage: { start: number[]; end: number[] };
  result: ScaleResult;
}

/**
 * Largest growth of a median latency, from the smallest to the largest count, that still counts as
 * flat. The limit is a judgment call: medians of sub-millisecond requests on a shared machine
 * move by tens of percent between runs, so smaller growth is not a reliable signal.
 */
export const FLAT_GROWTH_LIMIT = 1.5;

const OPERATION_LABELS: Record<string, string> = {
  tagPage: `tag page (n=100)`,
  catalogPage: `catalog page (n=100)`,
  manifestGet: 'manifest GET',
  pushTag: 'push: manifest PUT, new tag',
  pushRepository: 'push: new repository (2 mounts + manifest PUT)',
};

function levelTable(levels: readonly ScaleLevel[], operations: readonly string[], countLabel: string, rowsLabel: string): Table {
  const rows = levels.map((level) => [
    level.count.toLocaleString('en-US'),
    `${level.populateSeconds.toFixed(1)} s (${Math.round(level.added / level.populateSeconds)} ${rowsLabel}/s)`,
    ...operations.map((operation) => {
      const latency = level.latencies[operation];
      return latency === undefined ? '–' : `${latency.medianMs.toFixed(2)} (p95 ${latency.p95Ms.toFixed(2)})`;
    }),
    level.rssMiB.toFixed(1),
    level.metadataMiB.toFixed(1),
  ]);
  const first = levels[0];
  const last = levels[levels.length - 1];
  if (first !== undefined && last !== undefined && levels.length > 1) {
    rows.push([
      `growth ${first.count.toLocaleString('en-US')} to ${last.count.toLocaleString('en-US')}`,
      '',
      ...operations.map((operation) => {
        const from = first.latencies[operation]?.medianMs;
        const to = last.latencies[operation]?.medianMs;
        if (from === undefined || to === undefined || from === 0) {
          return '–';
        }
        const growth = to / from;
        return `${growth.toFixed(2)}x ${growth <= FLAT_GROWTH_LIMIT ? 'flat' : 'GROWS'}`;
      }),
      '',
      '',
    ]);
  }
  return {
    headers: [countLabel, 'fill time (rate)', ...operations.map((operation) => `${OPERATION_LABELS[operation] ?? operation}, ms`), 'RSS MiB', 'metadata MiB'],
    rows,
    align: ['right', 'right', ...operations.map(() => 'right' as const), 'right', 'right'],
  };
}

function tables(report: ScaleReport): { tags: Table; repositories: Table } {
  return {
    tags: levelTable(report.result.tagLevels, TAG_OPERATIONS, 'tags in one repository', 'tags'),
    repositories: levelTable(report.result.repositoryLevels, REPOSITORY_OPERATIONS, 'repositories', 'repositories'),
  };
}

function methodLine(settings: BenchSettings): string {
  return (
    `Each latency is the median (and 95th percentile) of ${settings.scaleSamples} single requests sent one at a time after ` +
    `${settings.scaleSamples} untimed ones. Before the first count, an untimed warm-up sends ${SERVER_WARMUP_REQUESTS} ` +
    `requests of each kind to a repository of its own. Pages start after a random existing name (last=). The fill sends tag PUTs of one manifest ` +
    `(or, per repository, two blob mounts and a manifest PUT) at ${settings.scaleConcurrency} concurrent requests. ` +
    `A median that grows by at most ${FLAT_GROWTH_LIMIT}x from the smallest to the largest count is marked flat.`
  );
}

/** Returns the scale report for the terminal. */
export function formatScaleText(report: ScaleReport): string {
  const { tags, repositories } = tables(report);
  return [
    '',
    'berth at growing counts',
    methodLine(report.settings),
    `load average (1, 5, 15 min) at start; at end: ${formatLoadAverage(report.loadAverage)}`,
    '',
    renderText(tags),
    '',
    renderText(repositories),
    '',
  ].join('\n');
}

/** Returns the scale section of docs/benchmarks.md. */
export function formatScaleMarkdown(report: ScaleReport): string {
  const { settings, machine } = report;
  const { tags, repositories } = tables(report);
  return [
    '## berth at growing tag and repository counts',
    '',
    `Measured on ${report.startedAt.toISOString().slice(0, 10)} by \`npm run bench -- --scale${settings.quick ? ' --quick' : ''}\` ` +
      `(bench/run.ts, bench/scale.ts) in ${(report.durationSeconds / 60).toFixed(1)} minutes, berth alone on 127.0.0.1 with empty ` +
      `storage at the start: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, ${machine.kernel}, ` +
      `${machine.filesystem}, Node.js ${machine.node}, berth commit ${machine.berthCommit}. Load average (1, 5, 15 min) at ` +
      `start; at end: ${formatLoadAverage(report.loadAverage)}.`,
    '',
    methodLine(settings),
    '',
    renderMarkdown(tags),
    '',
    renderMarkdown(repositories),
    '',
    `The push requests (warm-up and timed) add ${2 * settings.scaleSamples} tags or repositories at each count, so ` +
      'the later counts are higher than the first column says by that number per earlier count.',
    '',
  ].join('\n');
}
