/** Versions of the --s3 mode's backends and load balancer, for the report. */
import { spawnSync } from 'node:child_process';
import { findTool } from '../test/helpers/tools.js';
import { postgresVersion } from './postgres-schema.js';

/** Version strings, or `unknown` where a version could not be read. */
export interface BackendVersions {
  /** From `radosgw --version` on this machine, such as `16.2.15 (...) pacific (stable)`. */
  ceph: string;
  /** `server_version` of the PostgreSQL server. */
  postgres: string;
  /** From `nginx -v`. */
  nginx: string;
}

/** Reads the versions; `nginx` is the binary's path. */
export async function describeBackends(postgresUrl: string, nginx: string): Promise<BackendVersions> {
  const radosgw = findTool('radosgw');
  const cephText = radosgw === undefined ? undefined : combinedOutput(radosgw, ['--version']);
  const nginxText = combinedOutput(nginx, ['-v']);
  return {
    // Prints "ceph version 16.2.15 (618f4408...) pacific (stable)".
    ceph: /ceph version (.+)/.exec(cephText ?? '')?.[1]?.trim() ?? 'unknown (radosgw not found on this machine)',
    postgres: await postgresVersion(postgresUrl),
    // Prints "nginx version: nginx/1.22.1" on stderr.
    nginx: /nginx\/(\S+)/.exec(nginxText ?? '')?.[1] ?? 'unknown',
  };
}

/** Returns stdout followed by stderr of a command that exits 0, or undefined. */
function combinedOutput(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  return result.status === 0 ? `${result.stdout}${result.stderr}` : undefined;
}
