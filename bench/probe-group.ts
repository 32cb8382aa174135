/** Cost of a registry that runs as several processes, read from /proc like ProcessProbe. */
import { ProcessProbe } from './measure.js';
import type { CpuTimes, ServerProbe } from './measure.js';

/**
 * Sums CPU time over several processes. The peak resident set size is the sum of each
 * process's own peak (VmHWM), which is at least the peak of their combined memory, because the
 * processes may reach their peaks at different moments.
 */
export class ProcessGroupProbe implements ServerProbe {
  private readonly probes: ProcessProbe[];

  constructor(pids: readonly number[]) {
    if (pids.length === 0) {
      throw new Error('ProcessGroupProbe needs at least one PID');
    }
    this.probes = pids.map((pid) => new ProcessProbe(pid));
  }

  cpuTimes(): CpuTimes {
    return sumTimes(this.probes.map((probe) => probe.cpuTimes()));
  }

  mainThreadCpuTimes(): CpuTimes {
    return sumTimes(this.probes.map((probe) => probe.mainThreadCpuTimes()));
  }

  resetPeakRss(): void {
    for (const probe of this.probes) {
      probe.resetPeakRss();
    }
  }

  peakRssBytes(): number {
    return this.probes.reduce((total, probe) => total + probe.peakRssBytes(), 0);
  }
}

function sumTimes(times: readonly CpuTimes[]): CpuTimes {
  return times.reduce((total, each) => ({ user: total.user + each.user, system: total.system + each.system }), { user: 0, system: 0 });
}
