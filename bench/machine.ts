/** Facts about the machine and software behind a run, printed and written beside the results. */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { MIB } from './stats.js';

/** Hardware and software versions of a run. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** Filesystem type of the directory that contains the registries' storage (from findmnt). */
  filesystem: string;
  /** Commit of the berth working tree, with a note when src/ has uncommitted changes. */
  berthCommit: string;
  /** Version strings of external tools, by command. */
  toolVersions: Record<string, string>;
}

/** Collects machine facts; `tools` maps command names to paths whose versions are recorded. */
export function describeMachine(repositoryRoot: string, storageDir: string, tools: Record<string, string>): MachineInfo {
  const processors = cpus();
  const toolVersions: Record<string, string> = {};
  for (const [command, path] of Object.entries(tools)) {
    const version = toolVersion(command, path);
    if (version !== undefined) {
      toolVersions[command] = version;
    }
  }
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryGiB: totalmem() / MIB / 1024,
    kernel: `Linux ${release()}`,
    node: process.version,
    filesystem: commandOutput('findmnt', ['--noheadings', '--output', 'FSTYPE', '--target', storageDir]) ?? 'unknown',
    berthCommit: berthCommit(repositoryRoot),
    toolVersions,
  };
}

function toolVersion(command: string, path: string): string | undefined {
  switch (command) {
    case 'docker-registry':
      // Prints "docker-registry github.com/docker/distribution 2.8.2+ds1".
      return commandOutput(path, ['--version'])?.split(/\s+/).pop();
    case 'wrk':
      // Prints "wrk debian/4.1.0-3+b2 [epoll] Copyright ..." with its usage text, and exits 1.
      return /wrk (\S+)/.exec(commandOutput(path, ['--version'], true) ?? '')?.[1];
    case 'ab':
      return /Version (\S+)/.exec(commandOutput(path, ['-V']) ?? '')?.[1];
    case 'skopeo':
      return /version (\S+)/.exec(commandOutput(path, ['--version']) ?? '')?.[1];
    case 'curl':
      return /^curl (\S+)/.exec(commandOutput(path, ['--version']) ?? '')?.[1];
    default:
      return undefined;
  }
}

function berthCommit(repositoryRoot: string): string {
  const commit = commandOutput('git', ['-C', repositoryRoot, 'rev-parse', '--short=12', 'HEAD']);
  if (commit === undefined) {
    return 'unknown (not a git checkout)';
  }
  const changes = commandOutput('git', ['-C', repositoryRoot, 'status', '--porcelain', '--', 'src']);
  return changes === undefined || changes === '' ? commit : `${commit} with uncommitted changes in src/`;
}

/** Returns the trimmed stdout of a command, or undefined when it cannot run (or exits non-zero, unless `anyExitCode`). */
function commandOutput(command: string, args: string[], anyExitCode = false): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).trim();
  } catch (error) {
    const stdout = (error as { stdout?: unknown }).stdout;
    return anyExitCode && typeof stdout === 'string' && stdout !== '' ? stdout.trim() : undefined;
  }
}
