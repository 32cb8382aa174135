/**
 * Draws folded stacks as a self-contained SVG flame graph: the root at the bottom, each frame
 * as wide as its share of the time, callees stacked above their callers, and the time of each
 * frame in its tooltip. Frames narrower than `MIN_WIDTH_PX` are left out to keep the file small.
 */
import type { FoldedStacks } from './cpuprofile.js';
import { categorize } from './summary.js';
import type { Category } from './summary.js';

const WIDTH_PX = 1200;
const FRAME_HEIGHT_PX = 16;
const MIN_WIDTH_PX = 0.5;
const CHAR_WIDTH_PX = 6.5;
const MARGIN_PX = 10;
const TITLE_HEIGHT_PX = 30;

/** Fill hue of each category; the lightness varies per frame so that neighbours stand apart. */
const HUES: Record<Category, number> = {
  idle: 0,
  GC: 280,
  program: 30,
  'hashing (crypto)': 0,
  fs: 200,
  'socket and HTTP': 120,
  streams: 170,
  'berth code': 50,
  dependencies: 320,
  'other JavaScript': 60,
};

interface TreeNode {
  micros: number;
  children: Map<string, TreeNode>;
}

/** Returns the SVG flame graph of `folded` with `title` above it. */
export function renderFlameGraph(folded: FoldedStacks, title: string): string {
  const root: TreeNode = { micros: 0, children: new Map() };
  for (const [stack, micros] of folded) {
    root.micros += micros;
    let node = root;
    for (const frame of stack.split(';')) {
      let child = node.children.get(frame);
      if (child === undefined) {
        child = { micros: 0, children: new Map() };
        node.children.set(frame, child);
      }
      child.micros += micros;
      node = child;
    }
  }
  const scale = root.micros === 0 ? 0 : (WIDTH_PX - 2 * MARGIN_PX) / root.micros;
  const placed: PlacedFrame[] = [];
  placeChildren(root, [], MARGIN_PX, 0, scale, placed);
  const depth = Math.max(0, ...placed.map((frame) => frame.depth));
  const height = TITLE_HEIGHT_PX + (depth + 1) * FRAME_HEIGHT_PX + MARGIN_PX;
  // Depth 0 (the outermost frames) is the bottom row.
  const bottom = height - MARGIN_PX - FRAME_HEIGHT_PX;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdf8"/>`,
    `<text x="${MARGIN_PX}" y="20" font-size="14">${escapeXml(title)}</text>`,
    ...placed.map((frame) => frameRectangle(frame, bottom - frame.depth * FRAME_HEIGHT_PX, root.micros)),
    '</svg>',
    '',
  ].join('\n');
}

/** A frame with its position: `frames` is its stack from the outermost frame. */
interface PlacedFrame {
  frames: string[];
  micros: number;
  x: number;
  width: number;
  depth: number;
}

/** Places the children of `node` side by side from `x` on, and their children above them. */
function placeChildren(node: TreeNode, stack: string[], x: number, depth: number, scale: number, placed: PlacedFrame[]): void {
  let offset = x;
  const sorted = [...node.children.entries()].sort(([a], [b]) => a.localeCompare(b));
  for (const [frame, child] of sorted) {
    const width = child.micros * scale;
    if (width >= MIN_WIDTH_PX) {
      const frames = [...stack, frame];
      placed.push({ frames, micros: child.micros, x: offset, width, depth });
      placeChildren(child, frames, offset, depth + 1, scale, placed);
    }
    offset += width;
  }
}

function frameRectangle(placed: PlacedFrame, y: number, total: number): string {
  const frame = placed.frames[placed.frames.length - 1] as string;
  const hue = HUES[categorize(placed.frames)];
  const saturation = frame === '(idle)' ? 0 : 70;
  const lightness = 55 + (hashText(frame) % 25);
  const share = ((placed.micros / total) * 100).toFixed(2);
  const tooltip = `${frame}: ${(placed.micros / 1000).toFixed(1)} ms, ${share}%`;
  const parts = [
    `<g><title>${escapeXml(tooltip)}</title>`,
    `<rect x="${placed.x.toFixed(1)}" y="${y}" width="${placed.width.toFixed(1)}" height="${FRAME_HEIGHT_PX - 1}" fill="hsl(${hue},${saturation}%,${lightness}%)"/>`,
  ];
  const characters = Math.floor((placed.width - 4) / CHAR_WIDTH_PX);
  if (characters >= 3) {
    const text = frame.length <= characters ? frame : `${frame.slice(0, characters - 2)}..`;
    parts.push(`<text x="${(placed.x + 2).toFixed(1)}" y="${y + FRAME_HEIGHT_PX - 4}">${escapeXml(text)}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}

function hashText(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index += 1) hash = (hash * 31 + text.charCodeAt(index)) >>> 0;
  return hash;
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
