import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxConfig } from './nginx.js';
import { startBerth, type BerthProcess } from './process.js';
import { removeScaleOutData, scaleOutOverrides } from './scaleout.js';
import { envName } from '../../src/config/load.js';

/** Several berth nodes on one PostgreSQL schema and one S3 bucket, behind nginx on 127.0.0.1. */
export interface Cluster {
  /** Base URL of the load balancer, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT` of the load balancer, the registry host in image references. */
  readonly host: string;
  readonly nodes: BerthProcess[];
  /** The load balancer's error log, for failure messages. */
  balancerLog(): Promise<string>;
  /** Stops nginx and every node still running, then drops the schema and the bucket. */
  stop(): Promise<void>;
}

/**
 * Starts `count` berth processes sharing a new PostgreSQL schema and S3 bucket, and nginx
 * spreading requests over them round-robin with the settings docs/deploy.md recommends:
 * no request or response buffering, no body size limit, long timeouts. Needs nginx, PostgreSQL
 * and an S3 store (see test/helpers/scaleout.ts).
 */
export async function startCluster(count: number): Promise<Cluster> {
  const workDir = await mkdtemp(join(tmpdir(), 'berth-cluster-'));
  const nodes: BerthProcess[] = [];
  let balancer: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (balancer?.pid !== undefined && balancer.exitCode === null) {
      const exited = new Promise((resolve) => balancer?.once('exit', resolve));
      process.kill(balancer.pid, 'SIGTERM');
      await exited;
    }
    await Promise.all(nodes.map((node) => node.stop().catch(() => undefined)));
    await removeScaleOutData(workDir);
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const overrides = await scaleOutOverrides(workDir);
    const env = Object.fromEntries(Object.entries(overrides).map(([key, value]) => [envName(key), value]));
    for (let index = 0; index < count; index++) {
      nodes.push(await startBerth({ dataDir: join(workDir, `node-${index}`), env: { ...env, BERTH_LOG_FORMAT: 'json' } }));
    }
    const port = await freePort();
    balancer = await startNginx(join(workDir, 'nginx'), port, nodes);
    const logFile = join(workDir, 'nginx', 'error.log');
    return {
      url: `http://127.0.0.1:${port}`,
      host: `127.0.0.1:${port}`,
      nodes,
      balancerLog: () => readFile(logFile, 'utf8').catch(() => ''),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Writes an nginx configuration for `nodes` under `directory`, starts nginx and waits for its port. */
async function startNginx(directory: string, port: number, nodes: readonly BerthProcess[]): Promise<ChildProcess> {
  await mkdir(join(directory, 'temp'), { recursive: true });
  const config = nginxConfig(directory, port, nodes.map((node) => node.host), { keepalive: 16, serverParameters: 'max_fails=1 fail_timeout=5s' });
  const file = join(directory, 'nginx.conf');
  await writeFile(file, config);
  const child = spawn('nginx', ['-p', directory, '-c', file, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with code ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      () => true,
      () => false,
    );
    if (ready) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not answer on 127.0.0.1:${port} within 10 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
