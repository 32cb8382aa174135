/**
 * nginx as a round-robin load balancer on 127.0.0.1 in front of several registry nodes. It
 * has the proxy settings a registry needs: no body size limit, no request or response
 * buffering, HTTP/1.1 keep-alive to the nodes, the client's Host header and long timeouts.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
    await writeFile(file, nginxConfig(directory, port, upstreamHosts));
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

/** Returns the nginx configuration; every path that nginx writes lies in `directory`. */
export function nginxConfig(directory: string, port: number, upstreamHosts: readonly string[]): string {
  const servers = upstreamHosts.map((host) => `    server ${host};`).join('\n');
  return `worker_processes 1;
user root;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${directory}/temp/body;
  proxy_temp_path ${directory}/temp/proxy;
  fastcgi_temp_path ${directory}/temp/fastcgi;
  uwsgi_temp_path ${directory}/temp/uwsgi;
  scgi_temp_path ${directory}/temp/scgi;
  upstream registry {
${servers}
    keepalive ${UPSTREAM_KEEPALIVE};
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_connect_timeout 60s;
    proxy_read_timeout 900s;
    proxy_send_timeout 900s;
    location / { proxy_pass http://registry; }
  }
}
`;
}

/** Returns the PIDs of the children of `pid` (the nginx workers), from /proc/PID/task/PID/children. */
function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}
