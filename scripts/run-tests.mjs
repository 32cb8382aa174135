#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Arguments are substrings that select test files, for example `node scripts/run-tests.mjs e2e`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');

function collect(directory) {
  const files = [];
  for (const entry of readdirSync(directory).sort()) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) files.push(...collect(path));
    else if (entry.endsWith('.test.js')) files.push(path);
  }
  return files;
}

const filters = process.argv.slice(2);
const files = collect(testRoot).filter((file) => filters.length === 0 || filters.some((filter) => relative(testRoot, file).includes(filter)));
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(', ') || '(all)'} under ${testRoot}: run npm run build first`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
