import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasTool, run } from '../helpers/tools.js';
import type { RunResult } from '../helpers/tools.js';

/** Time limit of one skopeo or podman command in the end-to-end tests. */
export const CLIENT_TIMEOUT_MS = 180_000;

/**
 * Writes a private configuration for skopeo and podman under `dir` and returns the
 * environment that selects it: vfs storage under `dir`, `registryHosts` marked insecure
 * (plain HTTP), an empty auth file, cgroupfs and file event logging, and TMPDIR in `dir`.
 * skopeo 1.9 reads REGISTRY_AUTH_FILE and TMPDIR from it but ignores
 * CONTAINERS_REGISTRIES_CONF, so skopeo commands pass `--tls-verify=false` themselves.
 * Both tools still use the blob info cache in /var/lib/containers/cache, whose location
 * skopeo does not let a caller choose.
 */
export async function createContainersEnv(dir: string, registryHosts: readonly string[]): Promise<NodeJS.ProcessEnv> {
  const paths = {
    graphroot: join(dir, 'storage'),
    runroot: join(dir, 'run'),
    tmp: join(dir, 'tmp'),
    engineTmp: join(dir, 'engine-tmp'),
    networks: join(dir, 'networks'),
  };
  for (const path of Object.values(paths)) {
    await mkdir(path, { recursive: true });
  }

  const storageConf = join(dir, 'storage.conf');
  await writeFile(
    storageConf,
    ['[storage]', 'driver = "vfs"', `graphroot = ${tomlString(paths.graphroot)}`, `runroot = ${tomlString(paths.runroot)}`, ''].join(
      '\n',
    ),
  );

  const registriesConf = join(dir, 'registries.conf');
  const registryEntries = registryHosts.flatMap((host) => ['[[registry]]', `location = ${tomlString(host)}`, 'insecure = true', '']);
  await writeFile(registriesConf, ['unqualified-search-registries = []', '', ...registryEntries].join('\n'));

  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, '{}\n');

  const containersConf = join(dir, 'containers.conf');
  await writeFile(
    containersConf,
    [
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${tomlString(join(dir, 'events.log'))}`,
      `tmp_dir = ${tomlString(paths.engineTmp)}`,
      '',
      '[network]',
      `network_config_dir = ${tomlString(paths.networks)}`,
      '',
    ].join('\n'),
  );

  return {
    ...process.env,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    REGISTRY_AUTH_FILE: authFile,
    CONTAINERS_CONF: containersConf,
    TMPDIR: paths.tmp,
  };
}

/** Runs skopeo with `args` in `env`, bounded by CLIENT_TIMEOUT_MS. */
export function skopeo(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<RunResult> {
  return run('skopeo', args, { env, timeoutMs: CLIENT_TIMEOUT_MS });
}

/** Runs podman with `args` in `env`, bounded by CLIENT_TIMEOUT_MS. */
export function podman(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<RunResult> {
  return run('podman', args, { env, timeoutMs: CLIENT_TIMEOUT_MS });
}

/** Returns whether every named tool is installed, for `before` hooks that prepare what the tests need. */
export function haveTools(...names: string[]): boolean {
  return names.every((name) => hasTool(name));
}

function tomlString(value: string): string {
  return JSON.stringify(value);
}
