/**
 * Writes docs/benchmarks.md. The comparison, the scale and the S3 mode each own one section
 * between HTML comment markers. A run replaces only its own section, so the page keeps the last
 * result of every mode and any text written outside the markers.
 */
import { readFile, writeFile } from 'node:fs/promises';

/** Sections of docs/benchmarks.md, in page order. */
export type DocSection = 'comparison' | 'scale' | 's3';

const SECTIONS: readonly DocSection[] = ['comparison', 'scale', 's3'];

const PAGE_HEADER = [
  '# Benchmarks',
  '',
  'This page is generated: `npm run bench` rewrites the comparison section, `npm run bench -- --scale` the scale ' +
    'section and `npm run bench -- --s3` the S3 section, each with the numbers of its last run. Every number below was ' +
    'measured in that run on the machine it names.',
  '',
].join('\n');

const NOT_RUN: Record<DocSection, string> = {
  comparison: '## berth and Distribution side by side\n\nNot measured yet: run `npm run bench`.\n',
  scale: '## berth at growing tag and repository counts\n\nNot measured yet: run `npm run bench -- --scale`.\n',
  s3: '## berth on PostgreSQL and S3, Distribution on S3\n\nNot measured yet: run `npm run bench -- --s3`.\n',
};

function markers(section: DocSection): { begin: string; end: string } {
  return { begin: `<!-- bench:${section}:begin -->`, end: `<!-- bench:${section}:end -->` };
}

/**
 * Replaces `section` of the page at `path` with `markdown` and keeps everything else, such as
 * the other sections and hand-written text outside the markers. A page without the section's
 * markers gets the section appended, and a missing page is created with every section.
 */
export async function writeDocSection(path: string, section: DocSection, markdown: string): Promise<void> {
  let existing = '';
  try {
    existing = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
  const { begin, end } = markers(section);
  const block = `${begin}\n${markdown.trimEnd()}\n${end}`;
  const start = existing.indexOf(begin);
  const stop = existing.indexOf(end);
  if (start !== -1 && stop > start) {
    await writeFile(path, existing.slice(0, start) + block + existing.slice(stop + end.length));
    return;
  }
  if (existing.trim() !== '') {
    await writeFile(path, `${existing.trimEnd()}\n\n${block}\n`);
    return;
  }
  const parts = SECTIONS.map((name) => {
    const body = name === section ? markdown.trimEnd() + '\n' : NOT_RUN[name];
    const sectionMarkers = markers(name);
    return `${sectionMarkers.begin}\n${body}${sectionMarkers.end}\n`;
  });
  await writeFile(path, `${PAGE_HEADER}\n${parts.join('\n')}`);
}
