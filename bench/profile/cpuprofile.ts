/**
 * Reads V8 CPU profiles (the .cpuprofile files of `node --cpu-prof`) and folds their samples
 * into stacks with the microseconds spent in each, keeping only samples inside given time
 * windows. Profile timestamps are CLOCK_MONOTONIC microseconds on Linux, the same clock as
 * `process.hrtime` in the benchmark process, so the windows of its measured sections apply.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TimeWindow } from '../measure.js';

/** One node of the call tree in a .cpuprofile file. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The parts of a .cpuprofile file that folding uses. */
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds per stack; a stack is frame labels from the root to the leaf, joined by ';'. */
export type FoldedStacks = Map<string, number>;

/** Reads every .cpuprofile file in `directory` (none when it is missing) and folds them into one map. */
export async function foldProfileDirectory(directory: string, windows: readonly TimeWindow[]): Promise<FoldedStacks> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  const folded: FoldedStacks = new Map();
  for (const name of names) {
    const profile = JSON.parse(await readFile(join(directory, name), 'utf8')) as CpuProfile;
    foldProfile(profile, windows, folded);
  }
  return folded;
}

/**
 * Adds the samples of `profile` that fall inside one of `windows` to `folded`. Each sample
 * weighs the time until the next sample, as Chrome DevTools counts it.
 */
export function foldProfile(profile: CpuProfile, windows: readonly TimeWindow[], folded: FoldedStacks): void {
  const stacks = stackLabels(profile.nodes);
  let time = profile.startTime;
  for (let index = 0; index < profile.samples.length; index += 1) {
    time += profile.timeDeltas[index] ?? 0;
    const next = index + 1 < profile.samples.length ? time + (profile.timeDeltas[index + 1] ?? 0) : profile.endTime;
    const weight = Math.max(0, next - time);
    const stack = stacks.get(profile.samples[index] ?? -1);
    if (stack === undefined || stack === '' || !windows.some((window) => time >= window.startMicros && time < window.endMicros)) continue;
    folded.set(stack, (folded.get(stack) ?? 0) + weight);
  }
}

/** Returns the folded stack of every node id, without the "(root)" frame. */
function stackLabels(nodes: readonly ProfileNode[]): Map<number, string> {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const labels = new Map<number, string>();
  const labelOf = (id: number): string => {
    const known = labels.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const parentId = parent.get(id);
    let label = '';
    // The root has no parent and gets the empty label, so its children start the stacks.
    if (node !== undefined && parentId !== undefined) {
      const parentLabel = labelOf(parentId);
      const own = frameLabel(node.callFrame);
      label = parentLabel === '' ? own : `${parentLabel};${own}`;
    }
    labels.set(id, label);
    return label;
  };
  for (const node of nodes) labelOf(node.id);
  return labels;
}

/**
 * Returns `function file:line` with the file shortened to node:… or the part from dist/ or
 * node_modules/ on; V8 pseudo-frames such as "(idle)" stay as they are.
 */
export function frameLabel(frame: { functionName: string; url: string; lineNumber: number }): string {
  // V8's pseudo-frames such as "(garbage collector)" keep their spaces; the category rules match them.
  if (frame.url === '' && frame.functionName.startsWith('(')) return frame.functionName;
  const name = (frame.functionName === '' ? '(anonymous)' : frame.functionName).replaceAll(';', ',').replaceAll(' ', '_');
  if (frame.url === '') return name;
  const markers = ['/node_modules/', '/dist/'];
  let file = frame.url.replace(/^file:\/\//, '');
  for (const marker of markers) {
    const at = file.lastIndexOf(marker);
    if (at !== -1) {
      file = file.slice(at + 1);
      break;
    }
  }
  return `${name} ${file.replaceAll(';', ',').replaceAll(' ', '_')}:${frame.lineNumber + 1}`;
}

/** Formats folded stacks as the text format of flamegraph.pl: `frame;frame;frame microseconds` per line. */
export function formatFolded(folded: FoldedStacks): string {
  return [...folded.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([stack, micros]) => `${stack} ${Math.round(micros)}\n`)
    .join('');
}
