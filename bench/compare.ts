/**
 * The comparison mode: runs each workload on berth and Distribution in turn (berth first in
 * every repetition), collecting each repetition's metrics with the server's CPU seconds and
 * peak RSS during the measured sections. With a profile directory, berth runs under
 * `node --cpu-prof` and each result keeps the time windows of its measured sections.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryClient } from './http.js';
import { ProcessProbe, Recorder } from './measure.js';
import type { ServerProbe, TimeWindow } from './measure.js';
import { ProcessGroupProbe } from './probe-group.js';
import { REGISTRY_LABELS, startBerth, startDistribution } from './servers.js';
import type { RegistryName, RegistryServer } from './servers.js';
import { MIB } from './stats.js';
import { toolPath } from './tools.js';
import type { RunContext, Target, Workload, WorkloadSession } from './workloads/types.js';

/** Registries in the order they run within each repetition. */
export const REGISTRY_ORDER: readonly RegistryName[] = ['berth', 'distribution'];

/**
 * Metric keys that the runner adds to every workload's values: server CPU seconds (all
 * threads, split into user and system mode, and the main thread alone), peak RSS, and the
 * client's user and system CPU seconds. A registry behind a load balancer also gets the
 * balancer's CPU seconds.
 */
export const COST_KEYS = {
  cpuSeconds: 'cpuSeconds',
  balancerCpuSeconds: 'balancerCpuSeconds',
  serverUserSeconds: 'serverUserSeconds',
  serverSystemSeconds: 'serverSystemSeconds',
  serverMainThreadSeconds: 'serverMainThreadSeconds',
  peakRssMiB: 'peakRssMiB',
  clientUserSeconds: 'clientUserSeconds',
  clientSystemSeconds: 'clientSystemSeconds',
} as const;

/** Sampling interval of berth's CPU profiles, in microseconds (Node's default is 1000). */
export const PROFILE_INTERVAL_MICROS = 500;

/** Every value of one registry in one workload, and the error that stopped it, if any. */
export interface RegistryRuns {
  /** Values per metric key, one per completed repetition. */
  values: Record<string, number[]>;
  /** Monotonic time windows of all measured sections. */
  windows: TimeWindow[];
  error?: string;
}

/** Results of one workload on both registries. */
export interface WorkloadResult {
  workload: Workload;
  runs: Record<RegistryName, RegistryRuns>;
}

/** Inputs of the comparison: the repository, the servers' directory, the run context and a logger. */
export interface ComparisonSetup {
  repositoryRoot: string;
  /** Directory under which each server start gets its own data directory. */
  serversDir: string;
  context: RunContext;
  /** Prints one progress line. */
  log: (line: string) => void;
  /**
   * When set, berth runs under `node --cpu-prof` and writes its profiles to
   * `profileDir/<workload id>/`, one file per server start.
   */
  profileDir?: string | undefined;
  /**
   * Starts one registry for a workload; by default each starts as one process on 127.0.0.1
   * with filesystem storage in a new directory under `serversDir`.
   */
  startRegistry?: RegistryStarter;
}

/** A started registry and how to stop it and delete everything it stored. */
export interface StartedRegistry {
  server: RegistryServer;
  stopAndDelete(): Promise<void>;
}

/** Starts registry `name` for a workload; `label` is unique per start within a run. */
export type RegistryStarter = (name: RegistryName, label: string, workloadId: string) => Promise<StartedRegistry>;

/** Runs `workloads` in order and returns their results; a failing registry skips the rest of that workload. */
export async function runComparison(setup: ComparisonSetup, workloads: readonly Workload[]): Promise<WorkloadResult[]> {
  const results: WorkloadResult[] = [];
  for (const [position, workload] of workloads.entries()) {
    setup.log(`[${position + 1}/${workloads.length}] ${workload.title} (${workload.id})`);
    const result: WorkloadResult = { workload, runs: { berth: { values: {}, windows: [] }, distribution: { values: {}, windows: [] } } };
    if (workload.freshServersEachRepetition) {
      for (let repetition = 1; repetition <= setup.context.settings.repetitions; repetition += 1) {
        await withServers(setup, workload.id, `${workload.id}-${repetition}`, async (targets) => {
          for (const name of REGISTRY_ORDER) {
            await runRepetitions(setup, workload, result, targets[name], [repetition]);
          }
        });
      }
    } else {
      await withServers(setup, workload.id, workload.id, async (targets) => {
        const sessions: Partial<Record<RegistryName, WorkloadSession>> = {};
        for (const name of REGISTRY_ORDER) {
          sessions[name] = await startSession(setup, workload, result, targets[name]);
        }
        for (let repetition = 1; repetition <= setup.context.settings.repetitions; repetition += 1) {
          for (const name of REGISTRY_ORDER) {
            const session = sessions[name];
            if (session !== undefined && result.runs[name].error === undefined) {
              await runOne(setup, workload, result, targets[name], session, repetition);
            }
          }
        }
        for (const session of Object.values(sessions)) {
          await session.close?.();
        }
      });
    }
    results.push(result);
  }
  return results;
}

/** Starts a session on `target` and runs the given repetitions on it, then closes it. */
async function runRepetitions(
  setup: ComparisonSetup,
  workload: Workload,
  result: WorkloadResult,
  target: Target,
  repetitions: readonly number[],
): Promise<void> {
  if (result.runs[target.server.name].error !== undefined) {
    return;
  }
  const session = await startSession(setup, workload, result, target);
  if (session === undefined) {
    return;
  }
  for (const repetition of repetitions) {
    if (result.runs[target.server.name].error === undefined) {
      await runOne(setup, workload, result, target, session, repetition);
    }
  }
  await session.close?.();
}

async function startSession(
  setup: ComparisonSetup,
  workload: Workload,
  result: WorkloadResult,
  target: Target,
): Promise<WorkloadSession | undefined> {
  try {
    return await workload.start(setup.context, target);
  } catch (error) {
    recordFailure(setup, result, target.server, `preparing ${workload.id}`, error);
    return undefined;
  }
}

async function runOne(
  setup: ComparisonSetup,
  workload: Workload,
  result: WorkloadResult,
  target: Target,
  session: WorkloadSession,
  repetition: number,
): Promise<void> {
  const { server } = target;
  const recorder = new Recorder(serverProbe(server.pids), server.balancerPids === undefined ? undefined : serverProbe(server.balancerPids));
  try {
    const values = await session.run(repetition, recorder);
    if (recorder.sections === 0) {
      throw new Error(`workload ${workload.id} measured nothing: its run() must time its work with recorder.measure`);
    }
    const { cpu } = recorder;
    const all: Record<string, number> = {
      ...values,
      [COST_KEYS.cpuSeconds]: recorder.cpuSeconds,
      [COST_KEYS.serverUserSeconds]: cpu.server.user,
      [COST_KEYS.serverSystemSeconds]: cpu.server.system,
      [COST_KEYS.serverMainThreadSeconds]: cpu.serverMainThread.user + cpu.serverMainThread.system,
      [COST_KEYS.peakRssMiB]: recorder.peakRssBytes / MIB,
      [COST_KEYS.clientUserSeconds]: cpu.client.user,
      [COST_KEYS.clientSystemSeconds]: cpu.client.system,
      ...(server.balancerPids !== undefined && { [COST_KEYS.balancerCpuSeconds]: cpu.balancer.user + cpu.balancer.system }),
    };
    for (const [key, value] of Object.entries(all)) {
      (result.runs[server.name].values[key] ??= []).push(value);
    }
    result.runs[server.name].windows.push(...recorder.windows);
    const metricTexts = workload.metrics.map((metric) => `${metric.label} ${(values[metric.key] ?? Number.NaN).toFixed(metric.digits)} ${metric.unit}`);
    setup.log(
      `  ${repetition}/${setup.context.settings.repetitions} ${REGISTRY_LABELS[server.name].padEnd(12)} ${metricTexts.join(', ')}; ` +
        `server CPU ${recorder.cpuSeconds.toFixed(2)} s (user ${cpu.server.user.toFixed(2)}, system ${cpu.server.system.toFixed(2)}, ` +
        `main thread ${(cpu.serverMainThread.user + cpu.serverMainThread.system).toFixed(2)}), ` +
        `client CPU user ${cpu.client.user.toFixed(2)} s, system ${cpu.client.system.toFixed(2)} s, ` +
        `peak RSS ${(recorder.peakRssBytes / MIB).toFixed(1)} MiB` +
        (server.balancerPids === undefined ? '' : `, nginx CPU ${(cpu.balancer.user + cpu.balancer.system).toFixed(2)} s`),
    );
  } catch (error) {
    recordFailure(setup, result, server, `${workload.id} repetition ${repetition}`, error);
  }
}

function recordFailure(setup: ComparisonSetup, result: WorkloadResult, server: RegistryServer, stage: string, error: unknown): void {
  let message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (server.hasExited()) {
    message += `\na server process (PIDs ${server.pids.join(', ')}) has exited; its last output:\n${server.output().slice(-4000)}`;
  } else if (server.output().trim() !== '') {
    message += `\nlast server output:\n${server.output().slice(-2000)}`;
  }
  result.runs[server.name].error = `${stage} failed on ${REGISTRY_LABELS[server.name]}: ${message}`;
  setup.log(`  FAILED on ${REGISTRY_LABELS[server.name]}: ${stage}\n${indent(message)}`);
}

function serverProbe(pids: readonly number[]): ServerProbe {
  return pids.length === 1 ? new ProcessProbe(pids[0] as number) : new ProcessGroupProbe(pids);
}

/**
 * Starts both registries with empty storage, runs `task`, then stops both and deletes their
 * data. Stopping sends SIGTERM, so a profiled berth writes its profile before it exits.
 */
async function withServers(
  setup: ComparisonSetup,
  workloadId: string,
  label: string,
  task: (targets: Record<RegistryName, Target>) => Promise<void>,
): Promise<void> {
  const start = setup.startRegistry ?? filesystemStarter(setup);
  const started: StartedRegistry[] = [];
  const clients: RegistryClient[] = [];
  try {
    const targets: Partial<Record<RegistryName, Target>> = {};
    for (const name of REGISTRY_ORDER) {
      const registry = await start(name, label, workloadId);
      started.push(registry);
      const client = new RegistryClient(registry.server.url);
      clients.push(client);
      targets[name] = { server: registry.server, client };
    }
    await task(targets as Record<RegistryName, Target>);
  } finally {
    for (const client of clients) {
      client.close();
    }
    for (const registry of started) {
      await registry.stopAndDelete();
    }
  }
}

/** Returns the default starter: one process per registry with filesystem storage under `serversDir`. */
function filesystemStarter(setup: ComparisonSetup): RegistryStarter {
  return async (name, label, workloadId) => {
    const dataDir = join(setup.serversDir, `${label}-${name}`);
    let server: RegistryServer;
    if (name === 'berth') {
      const nodeArguments =
        setup.profileDir === undefined
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${join(setup.profileDir, workloadId)}`, `--cpu-prof-interval=${PROFILE_INTERVAL_MICROS}`];
      server = await startBerth(setup.repositoryRoot, dataDir, nodeArguments);
    } else {
      server = await startDistribution(toolPath(setup.context.tools, 'docker-registry'), dataDir);
    }
    return {
      server,
      async stopAndDelete() {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
