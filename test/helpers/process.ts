import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A berth server running as a child process of the test. */
export interface BerthProcess {
  /** Base URL, `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`, the registry host in image references. */
  host: string;
  port: number;
  pid: number;
  dataDir: string;
  /** Sends SIGTERM and resolves with the exit code (null when a signal ended the process). */
  stop(): Promise<number | null>;
  /** Sends SIGKILL and resolves once the process has exited. */
  kill(): Promise<void>;
  /** Everything the process has written to stdout and stderr so far (the last 4 MiB). */
  output(): string;
}

/** Options for `startBerth`. */
export interface StartBerthOptions {
  /** Data directory. When absent, a new directory under the OS temp directory, which the caller removes. */
  dataDir?: string;
  /** Port on 127.0.0.1, else a free one. Pass the port of a stopped server to restart it in place. */
  port?: number;
  /** Variables added to the environment of this process. */
  env?: Record<string, string>;
  /** Arguments appended after `serve --listen ... --data-dir ...`. */
  args?: string[];
}

const READY_TIMEOUT_MS = 20_000;
const READY_POLL_INTERVAL_MS = 100;
const STOP_TIMEOUT_MS = 15_000;
const MAX_CAPTURED_CHARS = 4 * 1024 * 1024;
/** Attempts when berth exits at startup because another process took the free port first. */
const MAX_PORT_ATTEMPTS = 3;

/** Children still running, so that they get SIGKILL if the test process exits without stopping them. */
const runningChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of runningChildren) {
    child.kill('SIGKILL');
  }
});

/**
 * Starts `node bin/berth.js serve --listen 127.0.0.1:PORT --data-dir DIR` from the
 * repository root and resolves once `GET /v2/` returns any HTTP response.
 * Rejects, with the captured output in the message, when the process exits first or
 * does not respond within 20 s, and kills the process in the second case.
 * Starting again with the same `dataDir` (and `port`) after `stop()` restarts the server
 * on the same data.
 */
export async function startBerth(options: StartBerthOptions = {}): Promise<BerthProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-data-')));
  let attempt = 1;
  for (;;) {
    const port = options.port ?? (await findFreePort());
    try {
      return await launch(port, dataDir, options);
    } catch (error) {
      const portTaken = error instanceof StartupError && error.output.includes('EADDRINUSE');
      if (options.port !== undefined || !portTaken || attempt >= MAX_PORT_ATTEMPTS) {
        if (options.dataDir === undefined) {
          await rm(dataDir, { recursive: true, force: true });
        }
        throw error;
      }
      attempt += 1;
    }
  }
}

/** Returns the directory of berth's package.json, found by walking up from this file. */
export function findRepositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifestPath = join(dir, 'package.json');
    if (existsSync(manifestPath)) {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: unknown };
      if (manifest.name === 'berth') {
        return dir;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`no package.json named "berth" found above ${fileURLToPath(import.meta.url)}`);
    }
    dir = parent;
  }
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- berth output ---\n${output}`);
  }
}

async function launch(port: number, dataDir: string, options: StartBerthOptions): Promise<BerthProcess> {
  const root = findRepositoryRoot();
  const args = [
    join(root, 'bin', 'berth.js'),
    'serve',
    '--listen',
    `127.0.0.1:${port}`,
    '--data-dir',
    dataDir,
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let captured = '';
  const capture = (chunk: Buffer): void => {
    captured += chunk.toString('utf8');
    if (captured.length > MAX_CAPTURED_CHARS) {
      captured = captured.slice(-MAX_CAPTURED_CHARS);
    }
  };
  child.stdout.on('data', capture);
  child.stderr.on('data', capture);

  let exitCode: number | null = null;
  let exitSignal: NodeJS.Signals | null = null;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      resolve();
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    runningChildren.delete(child);
  });
  if (child.pid === undefined) {
    await exited;
    throw new StartupError(`failed to start berth: ${spawnError?.message ?? 'no pid'}`, captured);
  }
  runningChildren.add(child);
  const pid = child.pid;

  const waitForExit = async (timeoutMs: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  };

  const kill = async (): Promise<void> => {
    if (!hasExited) {
      process.kill(pid, 'SIGKILL');
    }
    await exited;
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited) {
      const status = exitSignal !== null ? `signal ${exitSignal}` : `exit code ${String(exitCode)}`;
      throw new StartupError(`berth exited during startup (${status}): node ${args.join(' ')}`, captured);
    }
    if (await respondsToPing(url)) {
      break;
    }
    if (Date.now() >= deadline) {
      await kill();
      throw new StartupError(
        `berth did not respond to GET ${url}/v2/ within ${READY_TIMEOUT_MS} ms: node ${args.join(' ')}`,
        captured,
      );
    }
    await delay(READY_POLL_INTERVAL_MS);
  }

  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    pid,
    dataDir,
    async stop(): Promise<number | null> {
      if (!hasExited) {
        process.kill(pid, 'SIGTERM');
        if (!(await waitForExit(STOP_TIMEOUT_MS))) {
          await kill();
          throw new Error(`berth (pid ${pid}) did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM and was killed`);
        }
      }
      return exitCode;
    },
    kill,
    output: () => captured,
  };
}

async function respondsToPing(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Returns a port that was free on 127.0.0.1 a moment ago (the OS picks it for port 0). */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected server address: ${String(address)}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
