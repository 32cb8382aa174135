#!/usr/bin/env node
// Entry point of the berth command; the compiled code lives in dist/ (run `npm run build` first).
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`berth: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
