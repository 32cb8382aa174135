/**
 * Turns the CPU profiles of one `npm run bench -- --profile` run into files: per workload a
 * folded-stack text file, an SVG flame graph and a markdown summary. All three use only the
 * samples inside the measured sections, and the summary is printed to the terminal too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COST_KEYS, PROFILE_INTERVAL_MICROS } from '../compare.js';
import type { WorkloadResult } from '../compare.js';
import type { MachineInfo } from '../machine.js';
import type { BenchSettings } from '../options.js';
import { formatSpread } from '../report.js';
import { REGISTRY_LABELS } from '../servers.js';
import { renderMarkdown, renderText } from '../table.js';
import type { Table } from '../table.js';
import { foldProfileDirectory, formatFolded } from './cpuprofile.js';
import { renderFlameGraph } from './flamegraph.js';
import { CATEGORIES, CATEGORY_MEANINGS, summarize } from './summary.js';
import type { FunctionTime, ProfileSummary } from './summary.js';

const TOP_FUNCTIONS = 15;

/** Inputs of the profile report of one run. */
export interface ProfileRun {
  settings: BenchSettings;
  machine: MachineInfo;
  startedAt: Date;
  /** Directory with one subdirectory of .cpuprofile files per workload id. */
  rawDir: string;
  /** Directory that receives the folded stacks, flame graphs and summaries. */
  outputDir: string;
  log: (line: string) => void;
}

/** Writes `<id>.folded.txt`, `<id>.svg` and `<id>.md` for each result and prints each summary. */
export async function writeProfileReports(run: ProfileRun, results: readonly WorkloadResult[]): Promise<void> {
  await mkdir(run.outputDir, { recursive: true });
  for (const result of results) {
    const id = result.workload.id;
    const windows = result.runs.berth.windows;
    const folded = await foldProfileDirectory(join(run.rawDir, id), windows);
    if (folded.size === 0) {
      run.log(`profile of ${id}: no samples inside the measured sections (did berth write a profile?)`);
      continue;
    }
    const summary = summarize(folded, TOP_FUNCTIONS);
    const windowSeconds = windows.reduce((sum, window) => sum + (window.endMicros - window.startMicros), 0) / 1e6;
    const title = `berth CPU profile, ${result.workload.title} (${id}): ${(summary.totalMicros / 1e6).toFixed(2)} s of main-thread samples`;
    await writeFile(join(run.outputDir, `${id}.folded.txt`), formatFolded(folded));
    await writeFile(join(run.outputDir, `${id}.svg`), renderFlameGraph(folded, title));
    const tables = { cpu: cpuTable(result), categories: categoryTable(summary), self: functionTable(summary, summary.topSelf, 'self'), total: functionTable(summary, summary.topTotal, 'total') };
    await writeFile(join(run.outputDir, `${id}.md`), markdownSummary(run, result, summary, windowSeconds, tables));
    run.log(`\nprofile of ${result.workload.title} (${id}): ${(summary.totalMicros / 1e6).toFixed(2)} s sampled in ${windows.length} measured sections of ${windowSeconds.toFixed(2)} s`);
    for (const table of Object.values(tables)) run.log(`${renderText(table)}\n`);
    run.log(`wrote ${join(run.outputDir, `${id}.md`)}, ${id}.svg and ${id}.folded.txt`);
  }
}

/** Returns the /proc CPU seconds of server and client per repetition, medians with min–max. */
function cpuTable(result: WorkloadResult): Table {
  const rows: string[][] = [];
  for (const name of ['berth', 'distribution'] as const) {
    const values = result.runs[name].values;
    const spread = (key: string): string => formatSpread(values[key], 2, result.runs[name].error === undefined ? 'no data' : 'failed');
    const throughput = formatSpread(values[result.workload.metrics[0]?.key ?? ''], 1);
    rows.push([
      REGISTRY_LABELS[name],
      throughput,
      spread(COST_KEYS.serverUserSeconds),
      spread(COST_KEYS.serverSystemSeconds),
      // A Go program spreads its work over OS threads, so its main thread's time is not comparable.
      name === 'berth' ? spread(COST_KEYS.serverMainThreadSeconds) : '–',
      spread(COST_KEYS.clientUserSeconds),
      spread(COST_KEYS.clientSystemSeconds),
    ]);
  }
  const unit = result.workload.metrics[0]?.unit ?? '';
  return {
    headers: ['registry', `${result.workload.metrics[0]?.label ?? 'metric'} (${unit})`, 'server user s', 'server system s', 'server main thread s', 'client user s', 'client system s'],
    rows,
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
  };
}

function categoryTable(summary: ProfileSummary): Table {
  const rows = CATEGORIES.filter((category) => summary.categories[category] > 0).map((category) => [
    category,
    percent(summary.categories[category], summary.totalMicros),
    milliseconds(summary.categories[category]),
    CATEGORY_MEANINGS[category],
  ]);
  return { headers: ['category', 'share', 'ms', 'contains'], rows, align: ['left', 'right', 'right', 'left'] };
}

function functionTable(summary: ProfileSummary, functions: readonly FunctionTime[], kind: 'self' | 'total'): Table {
  const rows = functions.map((entry) => [entry.frame, percent(entry.micros, summary.totalMicros), milliseconds(entry.micros)]);
  return { headers: [`function (by ${kind} time)`, 'share', 'ms'], rows, align: ['left', 'right', 'right'] };
}

function markdownSummary(
  run: ProfileRun,
  result: WorkloadResult,
  summary: ProfileSummary,
  windowSeconds: number,
  tables: Record<'cpu' | 'categories' | 'self' | 'total', Table>,
): string {
  const { machine, settings } = run;
  const id = result.workload.id;
  // Frame names contain '_' and '*', which Markdown would read as emphasis outside code spans.
  const code = (table: Table): string => renderMarkdown({ ...table, rows: table.rows.map(([first = '', ...rest]) => [`\`${first}\``, ...rest]) });
  return [
    `# CPU profile of berth: ${result.workload.title}`,
    '',
    `Measured on ${run.startedAt.toISOString().slice(0, 10)} by \`npm run bench -- --profile --only ${id} --reps ${settings.repetitions}\` ` +
      `(bench/run.ts, bench/profile/): ${result.workload.detail(settings)}; ${settings.repetitions} repetitions on each registry. ` +
      `${machine.cpuModel}, ${machine.cores} cores, Node.js ${machine.node}, berth ${machine.berthCommit}.`,
    '',
    `berth ran under \`node --cpu-prof --cpu-prof-interval=${PROFILE_INTERVAL_MICROS}\`, so its numbers here are somewhat slower than in an unprofiled run. ` +
      `The profile covers the main thread only and keeps the samples inside the measured sections: ` +
      `${(summary.totalMicros / 1e6).toFixed(2)} s of samples in ${result.runs.berth.windows.length} sections of ${windowSeconds.toFixed(2)} s wall time in all.`,
    '',
    `Flame graph: [${id}.svg](${id}.svg) (hover a frame for its time). Folded stacks in microseconds: [${id}.folded.txt](${id}.folded.txt).`,
    '',
    '## CPU seconds from /proc',
    '',
    'Per repetition, medians with the lowest and highest value in brackets: user and system time of the server (utime and stime of /proc/PID/stat, all threads), ' +
      'of berth\'s main thread (/proc/PID/task/PID/stat), and of the client (the benchmark process plus the children it waited for, such as curl).',
    '',
    renderMarkdown(tables.cpu),
    '',
    '## Main-thread time by category',
    '',
    'Each sample counts for its innermost frame that a category matches.',
    '',
    renderMarkdown(tables.categories),
    '',
    '## Functions by self time',
    '',
    code(tables.self),
    '',
    '## Functions by total time',
    '',
    code(tables.total),
    '',
  ].join('\n');
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((part / whole) * 100).toFixed(1)}%`;
}

function milliseconds(micros: number): string {
  return (micros / 1000).toFixed(0);
}
