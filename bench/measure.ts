/**
 * Server and client cost from /proc: CPU seconds (utime and stime of /proc/PID/stat, of the
 * main thread from /proc/PID/task/PID/stat) and peak resident memory (VmHWM of
 * /proc/PID/status, reset by writing 5 to /proc/PID/clear_refs). Linux only. Resetting VmHWM
 * needs permission to write the process's clear_refs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** CPU time in seconds, split into user mode and kernel (system) mode. */
export interface CpuTimes {
  user: number;
  system: number;
}

let clockTicksPerSecond: number | undefined;

function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    const output = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const ticks = Number(output);
    if (!Number.isInteger(ticks) || ticks <= 0) {
      throw new Error(`getconf CLK_TCK printed ${JSON.stringify(output)}, expected a positive integer`);
    }
    clockTicksPerSecond = ticks;
  }
  return clockTicksPerSecond;
}

/**
 * Reads a /proc stat file: utime and stime (`own`), and cutime and cstime (`children`, the
 * children that the process has waited for), converted to seconds.
 */
function readCpuTimes(path: string): { own: CpuTimes; children: CpuTimes } {
  const stat = readFileSync(path, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces, so fields are
  // counted after the last ')'. There field 3 (state) is index 0, so utime (field 14) is
  // index 11, stime index 12, cutime index 13 and cstime index 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].map((index) => Number(fields[index]));
  if (ticks.some((value) => !Number.isFinite(value))) {
    throw new Error(`cannot read utime, stime, cutime and cstime from ${path}: ${stat.slice(0, 200)}`);
  }
  const [utime = 0, stime = 0, cutime = 0, cstime = 0] = ticks.map((value) => value / clockTicks());
  return { own: { user: utime, system: stime }, children: { user: cutime, system: cstime } };
}

/**
 * CPU time of this process (the benchmark client) plus the children it has waited for, such
 * as curl. Children still running, like the registries, are not included.
 */
export function clientCpuTimes(): CpuTimes {
  const { own, children } = readCpuTimes('/proc/self/stat');
  return { user: own.user + children.user, system: own.system + children.system };
}

/**
 * CPU time and peak memory of the server under test: one process, or several that together
 * serve one registry.
 */
export interface ServerProbe {
  /** User and system CPU time so far, in seconds, summed over all threads. */
  cpuTimes(): CpuTimes;
  /** User and system CPU time of the main thread (of each process, summed). */
  mainThreadCpuTimes(): CpuTimes;
  /** Resets the peak resident set size to the current one. */
  resetPeakRss(): void;
  /** Peak resident set size since the last reset, in bytes. */
  peakRssBytes(): number;
}

/** Reads CPU time and memory of one process from /proc. */
export class ProcessProbe implements ServerProbe {
  constructor(readonly pid: number) {}

  /** User plus system CPU time of the process so far, in seconds. */
  cpuSeconds(): number {
    const times = this.cpuTimes();
    return times.user + times.system;
  }

  /** User and system CPU time of the process so far, summed over all its threads. */
  cpuTimes(): CpuTimes {
    return readCpuTimes(`/proc/${this.pid}/stat`).own;
  }

  /** User and system CPU time of the process's main thread (the JavaScript thread of Node.js). */
  mainThreadCpuTimes(): CpuTimes {
    return readCpuTimes(`/proc/${this.pid}/task/${this.pid}/stat`).own;
  }

  /** Resets the peak resident set size (VmHWM) to the current resident set size. */
  resetPeakRss(): void {
    writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
  }

  /** Peak resident set size since start or the last reset (VmHWM), in bytes. */
  peakRssBytes(): number {
    return this.statusKilobytes('VmHWM') * 1024;
  }

  /** Current resident set size (VmRSS), in bytes. */
  rssBytes(): number {
    return this.statusKilobytes('VmRSS') * 1024;
  }

  private statusKilobytes(field: string): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match?.[1] === undefined) {
      throw new Error(`/proc/${this.pid}/status has no ${field} line`);
    }
    return Number(match[1]);
  }
}

/** Wall time of a measured section and the value its function returned. */
export interface Measured<T> {
  value: T;
  seconds: number;
}

/** A measured section on the monotonic clock (CLOCK_MONOTONIC on Linux, as V8 profiles use), in microseconds. */
export interface TimeWindow {
  startMicros: number;
  endMicros: number;
}

/** CPU times that a Recorder sums over the measured sections. */
export interface SectionCpu {
  /** The server process, all threads. */
  server: CpuTimes;
  /** The server's main thread; the rest of `server` ran on other threads (libuv pool, GC helpers). */
  serverMainThread: CpuTimes;
  /** The load balancer in front of the server, zero when there is none. */
  balancer: CpuTimes;
  /** This process plus the children it waited for during the sections. */
  client: CpuTimes;
}

/**
 * Collects the cost of the measured sections of one repetition. It sums the server's CPU
 * seconds, keeps the highest VmHWM seen (reset before each section), splits the server's and
 * the client's CPU time into user and system, and records the time window of each section.
 */
export class Recorder {
  cpuSeconds = 0;
  peakRssBytes = 0;
  sections = 0;
  readonly cpu: SectionCpu = { server: zeroTimes(), serverMainThread: zeroTimes(), balancer: zeroTimes(), client: zeroTimes() };
  readonly windows: TimeWindow[] = [];

  /** `balancer` reads the CPU time of a load balancer in front of the server, which is kept apart from the server's. */
  constructor(
    private readonly probe: ServerProbe,
    private readonly balancer?: ServerProbe,
  ) {}

  /** Runs `section`, timing it with the monotonic clock and recording the server's CPU time and peak RSS during it. */
  async measure<T>(section: () => Promise<T>): Promise<Measured<T>> {
    this.probe.resetPeakRss();
    const before = this.sampleCpu();
    const startMicros = monotonicMicros();
    const started = performance.now();
    const value = await section();
    const seconds = (performance.now() - started) / 1000;
    const endMicros = monotonicMicros();
    const after = this.sampleCpu();
    addDifference(this.cpu.server, before.server, after.server);
    addDifference(this.cpu.serverMainThread, before.serverMainThread, after.serverMainThread);
    addDifference(this.cpu.balancer, before.balancer, after.balancer);
    addDifference(this.cpu.client, before.client, after.client);
    this.cpuSeconds = this.cpu.server.user + this.cpu.server.system;
    this.peakRssBytes = Math.max(this.peakRssBytes, this.probe.peakRssBytes());
    this.windows.push({ startMicros, endMicros });
    this.sections += 1;
    return { value, seconds };
  }

  private sampleCpu(): SectionCpu {
    return {
      server: this.probe.cpuTimes(),
      serverMainThread: this.probe.mainThreadCpuTimes(),
      balancer: this.balancer?.cpuTimes() ?? zeroTimes(),
      client: clientCpuTimes(),
    };
  }
}

/** Returns the monotonic clock in microseconds, the time base of V8 CPU profiles on Linux. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function zeroTimes(): CpuTimes {
  return { user: 0, system: 0 };
}

function addDifference(total: CpuTimes, before: CpuTimes, after: CpuTimes): void {
  total.user += after.user - before.user;
  total.system += after.system - before.system;
}
