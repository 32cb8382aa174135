#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Arguments are substrings that select test files, for example `node scripts/run-tests.mjs e2e`.
// The API and conformance files then run a second time on PostgreSQL and S3 (see below).
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
const run = (selected, env) =>
  spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...selected], { stdio: 'inherit', cwd: root, env }).status ?? 1;

let status = run(files, process.env);

// The scale-out pass: the HTTP API tests and the conformance suite again, with every test server
// on PostgreSQL and S3 (BERTH_TEST_BACKENDS=scaleout). It needs an S3 store; CI always starts one.
const scaleOutFiles = files.filter((file) => /^(api\/|conformance\.test)/.test(relative(testRoot, file)));
const s3Endpoint = process.env.BERTH_TEST_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL_S3;
if (scaleOutFiles.length > 0 && process.env.BERTH_TEST_BACKENDS === undefined) {
  if (s3Endpoint || process.env.CI === 'true') {
    console.log(`# scale-out pass: ${scaleOutFiles.length} files on PostgreSQL and S3 at ${s3Endpoint ?? '(no endpoint set)'}`);
    status = Math.max(status, run(scaleOutFiles, { ...process.env, BERTH_TEST_BACKENDS: 'scaleout' }));
  } else {
    console.log('# scale-out pass skipped: no S3 store; start one with eval "$(bash scripts/s3-up.sh)" and run the tests again');
  }
}
process.exit(status);
