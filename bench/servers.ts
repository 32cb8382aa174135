/**
 * Starts and stops the two registries as child processes on 127.0.0.1: berth
 * (`node bin/berth.js serve`, so that the child's PID is the server itself) and CNCF
 * Distribution (`docker-registry serve CONFIG`) with delete enabled and, unless the caller
 * passes another storage driver, a filesystem driver. Each start gets a new free port and the
 * data directory the caller passes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Name of a registry under test. */
export type RegistryName = 'berth' | 'distribution';

/** Display names of the registries. */
export const REGISTRY_LABELS: Record<RegistryName, string> = { berth: 'berth', distribution: 'Distribution' };

/** A child process of this module that responds to HTTP on `url`. */
export interface ManagedProcess {
  /** Base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`, the registry host in image references. */
  readonly host: string;
  readonly pid: number;
  /** The last 64 KiB that the process wrote to stdout and stderr. */
  output(): string;
  /** Whether the process has exited. */
  hasExited(): boolean;
  /** Sends SIGTERM, waits up to 15 s, then sends SIGKILL; resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * A registry that responds on `url`: one process, or several behind a load balancer, in which
 * case `url` and `host` are the balancer's, `pid` is the first node's, and `output`,
 * `hasExited` and `stop` cover every process.
 */
export interface RegistryServer extends ManagedProcess {
  readonly name: RegistryName;
  /** Processes of the registry itself, whose CPU time and memory count as the server's cost. */
  readonly pids: readonly number[];
  /** Processes of the load balancer in front of the registry, if any; their cost is reported apart. */
  readonly balancerPids?: readonly number[];
  readonly dataDir: string;
}

const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 15_000;
const OUTPUT_TAIL_CHARS = 64 * 1024;
const START_ATTEMPTS = 3;

/** Children still running, killed with SIGKILL if this process exits without stopping them. */
const runningChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of runningChildren) {
    child.kill('SIGKILL');
  }
});

/** Kills every registry process that this module started and that is still running (SIGKILL). */
export function killAllServers(): void {
  for (const child of runningChildren) {
    child.kill('SIGKILL');
  }
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago (the kernel picks it for port 0). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') {
          reject(new Error(`unexpected listen address ${String(address)}`));
        } else {
          resolve(address.port);
        }
      });
    });
  });
}

/**
 * Starts berth from the repository at `repositoryRoot` with `--data-dir dataDir` and log level
 * warn. Inherited BERTH_* variables are dropped so that the configuration is the default one,
 * changed only by `configuration` (BERTH_* variables such as BERTH_STORAGE_DRIVER).
 * `nodeArguments` go to node before the script, for example `--cpu-prof`.
 */
export function startBerth(
  repositoryRoot: string,
  dataDir: string,
  nodeArguments: readonly string[] = [],
  configuration: Readonly<Record<string, string>> = {},
): Promise<RegistryServer> {
  return startWithRetries('berth', dataDir, async (port) => {
    await mkdir(dataDir, { recursive: true });
    return {
      command: process.execPath,
      args: [...nodeArguments, join(repositoryRoot, 'bin', 'berth.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir],
      env: { ...environmentWithout('BERTH_'), BERTH_LOG_LEVEL: 'warn', ...configuration },
      cwd: repositoryRoot,
    };
  });
}

/** Options of a Distribution start; the defaults give filesystem storage under the data directory. */
export interface DistributionOptions {
  /**
   * YAML lines of the storage driver, indented to sit under `storage:`, such as
   * `["  s3:", "    bucket: NAME"]`. The default is a filesystem driver under `dataDir/storage`.
   */
  storageDriver?: readonly string[];
  /** `http.secret`, which signs upload state; nodes behind one load balancer need the same one. Random by default. */
  secret?: string;
}

/**
 * Starts Distribution (`binary`, Debian's docker-registry) with a configuration written to
 * `dataDir/config.yml`. Inherited REGISTRY_* variables, which would override the
 * configuration file, are dropped, and so is AWS_CA_BUNDLE: with it set, the S3 driver of
 * Distribution 2.8.2 panics at start ("LoadCustomCABundleError ... unsupported transport").
 */
export function startDistribution(binary: string, dataDir: string, options: DistributionOptions = {}): Promise<RegistryServer> {
  return startWithRetries('distribution', dataDir, async (port) => {
    let storageDriver = options.storageDriver;
    if (storageDriver === undefined) {
      const storage = join(dataDir, 'storage');
      await mkdir(storage, { recursive: true });
      storageDriver = ['  filesystem:', `    rootdirectory: ${JSON.stringify(storage)}`];
    } else {
      await mkdir(dataDir, { recursive: true });
    }
    const configPath = join(dataDir, 'config.yml');
    await writeFile(configPath, distributionConfig(storageDriver, port, options.secret ?? randomBytes(16).toString('hex')));
    const env = environmentWithout('REGISTRY_');
    delete env.AWS_CA_BUNDLE;
    return { command: binary, args: ['serve', configPath], env, cwd: dataDir };
  });
}

/**
 * Returns the Distribution configuration: the given storage driver lines, delete enabled,
 * in-memory blob descriptor cache, log level warn without access log, and `secret` for
 * signing upload state.
 */
export function distributionConfig(storageDriver: readonly string[], port: number, secret: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    ...storageDriver,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // A fixed secret for upload state tokens; without it Distribution generates one and logs a warning.
    `  secret: ${JSON.stringify(secret)}`,
    '',
  ].join('\n');
}

/** Command line, environment and working directory of a child process. */
export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- server output ---\n${output.slice(-8000)}`);
  }
}

/**
 * Calls `start` with a free port, and again with another one, up to 3 attempts, when it fails
 * because the port was taken (another process may take it between findFreePort and listen).
 */
export async function withFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await findFreePort();
    try {
      return await start(port);
    } catch (error) {
      const portTaken = error instanceof StartupError && /EADDRINUSE|address already in use/i.test(error.output);
      if (!portTaken || attempt >= START_ATTEMPTS) {
        throw error;
      }
    }
  }
}

function startWithRetries(name: RegistryName, dataDir: string, prepare: (port: number) => Promise<LaunchSpec>): Promise<RegistryServer> {
  return withFreePort(async (port) => {
    const child = await startProcess(await prepare(port), port);
    return { ...child, name, pids: [child.pid], dataDir };
  });
}

/**
 * Starts `spec` and resolves once `GET http://127.0.0.1:PORT/v2/` returns any HTTP response.
 * Rejects with the process's output when it exits first or does not respond within 20 s, and
 * kills it in the second case.
 */
export async function startProcess(spec: LaunchSpec, port: number): Promise<ManagedProcess> {
  const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
  runningChildren.add(child);
  let output = '';
  const capture = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);

  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      capture(Buffer.from(`\nspawn failed: ${error.message}\n`));
      exited = true;
      runningChildren.delete(child);
      resolve();
    });
    child.once('exit', (code, signal) => {
      capture(Buffer.from(`\nprocess exited with ${signal ?? `code ${code}`}\n`));
      exited = true;
      runningChildren.delete(child);
      resolve();
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const commandLine = [spec.command, ...spec.args].join(' ');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      throw new StartupError(`${commandLine} exited before it responded on ${url}`, output);
    }
    if (await answers(`${url}/v2/`)) {
      break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      throw new StartupError(`${commandLine} did not respond on ${url} within ${READY_TIMEOUT_MS} ms`, output);
    }
    await sleep(READY_POLL_MS);
  }
  if (child.pid === undefined) {
    throw new StartupError(`${commandLine} has no PID`, output);
  }

  return {
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    output: () => output,
    hasExited: () => exited,
    async stop() {
      if (exited) {
        return;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function environmentWithout(prefix: string): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith(prefix)));
}
