/**
 * nginx as a round-robin load balancer on 127.0.0.1 in front of several registry nodes. It
 * has the proxy settings a registry needs: no body size limit, no request or response
 * buffering, HTTP/1.1 keep-alive to the nodes, the client's Host header and long timeouts.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nginxConfig } from '../test/helpers/nginx.js';
import { startProcess, withFreePort } from './servers.js';
import type { ManagedProcess } from './servers.js';

/** A running nginx: its master process and its workers. */
export interface Balancer extends ManagedProcess {
  /** The master and worker processes, whose CPU time is the balancer's cost. */
  readonly pids: readonly number[];
  /** The last `chars` characters of the error log, for failure messages. */
  errorLogTail(chars: number): string;
}

/** Idle keep-alive connections that each nginx worker keeps to the nodes; as many as the load workloads' connections. */
const UPSTREAM_KEEPALIVE = 64;

/**
 * Starts `nginx` (the binary path) with a configuration in `directory` that spreads requests
 * over `upstreamHosts` (`127.0.0.1:PORT` each) round-robin, and resolves once it responds.
 */
export async function startBalancer(nginx: string, directory: string, upstreamHosts: readonly string[]): Promise<Balancer> {
  await mkdir(join(directory, 'temp'), { recursive: true });
  const file = join(directory, 'nginx.conf');
  const child = await withFreePort(async (port) => {
    await writeFile(file, nginxConfig(directory, port, upstreamHosts, { keepalive: UPSTREAM_KEEPALIVE }));
    return startProcess({ command: nginx, args: ['-p', directory, '-c', file, '-g', 'daemon off;'], env: process.env, cwd: directory }, port);
  });
  const errorLogPath = join(directory, 'error.log');
  return {
    ...child,
    pids: [child.pid, ...childPids(child.pid)],
    errorLogTail(chars) {
      try {
        return readFileSync(errorLogPath, 'utf8').slice(-chars);
      } catch {
        return '';
      }
    },
  };
}

/** Returns the PIDs of the children of `pid` (the nginx workers), from /proc/PID/task/PID/children. */
function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}
