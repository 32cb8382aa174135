/**
 * Sorts the time of folded stacks into categories (idle, GC, hashing, file system, …) and
 * ranks functions by self and total time.
 */
import type { FoldedStacks } from './cpuprofile.js';

/** Kind of work in one sample, decided by the innermost frame that a rule matches. */
export type Category = 'idle' | 'GC' | 'program' | 'hashing (crypto)' | 'fs' | 'socket and HTTP' | 'streams' | 'berth code' | 'dependencies' | 'other JavaScript';

/** Categories in the order of the printed tables. */
export const CATEGORIES: readonly Category[] = [
  'idle',
  'GC',
  'program',
  'hashing (crypto)',
  'fs',
  'socket and HTTP',
  'streams',
  'berth code',
  'dependencies',
  'other JavaScript',
];

/** Description of the frames in each category, for the summaries. */
export const CATEGORY_MEANINGS: Record<Category, string> = {
  idle: 'the event loop waits for I/O (V8 "(idle)")',
  GC: 'garbage collection on the main thread (V8 "(garbage collector)")',
  program: 'native code that V8 cannot attribute to a JavaScript function (V8 "(program)")',
  'hashing (crypto)': 'node:internal/crypto, for example Hash.update',
  fs: 'node:fs and node:internal/fs (the system calls themselves run on the libuv pool)',
  'socket and HTTP': 'node:net, node:_http_*, node:internal/stream_base_commons',
  streams: 'node:internal/streams (Readable, Writable, pipeline)',
  'berth code': 'dist/src/',
  dependencies: 'node_modules/',
  'other JavaScript': 'any other frame',
};

const RULES: readonly [RegExp, Category][] = [
  [/^\(idle\)$/, 'idle'],
  [/^\(garbage collector\)$/, 'GC'],
  [/^\(program\)$/, 'program'],
  [/ node:internal\/crypto\//, 'hashing (crypto)'],
  [/ node:(internal\/)?fs[/:]/, 'fs'],
  [/ node:(net|_http_\w+|internal\/stream_base_commons|internal\/http):/, 'socket and HTTP'],
  [/ node:internal\/streams\//, 'streams'],
  [/ dist\/src\//, 'berth code'],
  [/ node_modules\//, 'dependencies'],
];

/** Returns the category of a stack: the first rule that matches a frame, from the leaf to the root. */
export function categorize(frames: readonly string[]): Category {
  for (let index = frames.length - 1; index >= 0; index -= 1) {
    const frame = frames[index] as string;
    for (const [pattern, category] of RULES) {
      if (pattern.test(frame)) return category;
    }
  }
  return 'other JavaScript';
}

/** Time of one function, in microseconds. */
export interface FunctionTime {
  frame: string;
  micros: number;
}

/** Category shares and the functions with the most self and total time. */
export interface ProfileSummary {
  totalMicros: number;
  categories: Record<Category, number>;
  topSelf: FunctionTime[];
  topTotal: FunctionTime[];
}

/** Summarizes folded stacks, keeping the `top` functions of each ranking. */
export function summarize(folded: FoldedStacks, top: number): ProfileSummary {
  const categories = Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Record<Category, number>;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let totalMicros = 0;
  for (const [stack, micros] of folded) {
    const frames = stack.split(';');
    totalMicros += micros;
    categories[categorize(frames)] += micros;
    const leaf = frames[frames.length - 1] as string;
    self.set(leaf, (self.get(leaf) ?? 0) + micros);
    // A recursive function counts once per stack in its total time.
    for (const frame of new Set(frames)) total.set(frame, (total.get(frame) ?? 0) + micros);
  }
  return { totalMicros, categories, topSelf: ranked(self, top), topTotal: ranked(total, top) };
}

function ranked(times: Map<string, number>, top: number): FunctionTime[] {
  return [...times.entries()]
    .map(([frame, micros]) => ({ frame, micros }))
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top);
}
