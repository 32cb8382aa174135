/**
 * Server cost from /proc: CPU seconds (utime + stime of /proc/PID/stat) and peak resident
 * memory (VmHWM of /proc/PID/status, reset by writing 5 to /proc/PID/clear_refs).
 * Linux only. Resetting VmHWM needs permission to write the process's clear_refs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

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

/** Reads CPU time and memory of one process from /proc. */
export class ProcessProbe {
  constructor(readonly pid: number) {}

  /** User plus system CPU time of the process so far, in seconds. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces, so fields are
    // counted after the last ')'. There field 3 (state) is index 0, so utime (field 14) is
    // index 11 and stime (field 15) index 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
      throw new Error(`cannot read utime and stime from /proc/${this.pid}/stat: ${stat.slice(0, 200)}`);
    }
    return (utime + stime) / clockTicks();
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

/**
 * Collects the server cost of the measured sections of one repetition: CPU seconds summed
 * over the sections, and the highest VmHWM seen, where VmHWM is reset before each section.
 */
export class Recorder {
  cpuSeconds = 0;
  peakRssBytes = 0;
  sections = 0;

  constructor(private readonly probe: ProcessProbe) {}

  /** Runs `section`, timing it with the monotonic clock and recording the server's CPU time and peak RSS during it. */
  async measure<T>(section: () => Promise<T>): Promise<Measured<T>> {
    this.probe.resetPeakRss();
    const cpuBefore = this.probe.cpuSeconds();
    const started = performance.now();
    const value = await section();
    const seconds = (performance.now() - started) / 1000;
    this.cpuSeconds += this.probe.cpuSeconds() - cpuBefore;
    this.peakRssBytes = Math.max(this.peakRssBytes, this.probe.peakRssBytes());
    this.sections += 1;
    return { value, seconds };
  }
}
