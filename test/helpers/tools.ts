import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Directories searched after $PATH, because a non-login root shell may lack the sbin ones. */
const EXTRA_TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Returns the absolute path of the executable `name`, searching $PATH and then the
 * standard system directories, or undefined when none is executable.
 * A name containing a slash is checked as a path.
 */
export function findTool(name: string): string | undefined {
  if (name.includes('/')) {
    return isExecutable(name) ? name : undefined;
  }
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of [...pathDirs, ...EXTRA_TOOL_DIRS]) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/** Returns whether `findTool(name)` finds an executable. */
export function hasTool(name: string): boolean {
  return findTool(name) !== undefined;
}

/**
 * Checks that the command `name` is installed before a test uses it.
 * When it is missing, throws under CI=true, so the test fails, and otherwise marks
 * the test skipped and returns false. Both messages name the Debian package.
 */
export function requireTool(t: TestContext, name: string, debianPackage: string): boolean {
  if (hasTool(name)) {
    return true;
  }
  const message = `${name} not found: install with: apt-get install -y ${debianPackage}`;
  if (process.env.CI === 'true') {
    throw new Error(`${message} (CI=true, so a missing tool fails the test)`);
  }
  t.skip(message);
  return false;
}

/** Options for `run`. */
export interface RunOptions {
  cwd?: string;
  /** Full environment of the child, by default the environment of this process. */
  env?: NodeJS.ProcessEnv;
  /** Time limit in milliseconds (default 300000), after which the child gets SIGKILL. */
  timeoutMs?: number;
}

/** Captured output of a command that exited with status 0. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
const STDERR_TAIL_CHARS = 8000;

/**
 * Runs `cmd` with `args` and no shell, and returns its stdout and stderr.
 * Rejects with an Error naming the command line, the exit code or signal and the
 * end of stderr when the command fails to start, exits non-zero or times out.
 */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const commandLine = [cmd, ...args].map(quoteArgument).join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        let status: string;
        if (typeof failure.code === 'number') {
          status = `exit code ${failure.code}`;
        } else if (failure.killed === true) {
          status = `killed after the ${timeoutMs} ms time limit`;
        } else if (typeof failure.signal === 'string') {
          status = `killed by ${failure.signal}`;
        } else {
          status = `failed to start: ${failure.message}`;
        }
        const stderrTail = stderr.length > STDERR_TAIL_CHARS ? `...${stderr.slice(-STDERR_TAIL_CHARS)}` : stderr;
        reject(new Error(`command failed (${status}): ${commandLine}\nstderr:\n${stderrTail.trimEnd()}`));
      },
    );
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function quoteArgument(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", "'\\''")}'`;
}
