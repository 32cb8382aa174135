/**
 * A manifest by tag under load, 64 concurrent connections for a fixed time.
 * GET runs under wrk with --latency. HEAD runs under `ab -i -k`, because wrk 4.1 counts no
 * HEAD responses (it waits for a body of Content-Length bytes that never comes). Before the
 * first measured run on each registry, an untimed run of the same tool warms the server up.
 */
import { run } from '../../test/helpers/tools.js';
import { checkManifest, MANIFEST_ACCEPT, pushSmallImage, smallImage } from '../oci.js';
import { toolPath } from '../tools.js';
import type { BenchSettings } from '../options.js';
import type { ToolPaths } from '../tools.js';
import type { MetricSpec, Workload } from './types.js';

/** Requests per second and latency quantiles of one load run. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const LOAD_METRICS: MetricSpec[] = [
  { key: 'requestsPerSecond', label: 'throughput', unit: 'req/s', better: 'higher', digits: 0 },
  { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower', digits: 2 },
];

/** Time a load tool gets beyond its run time before it is killed. */
const TOOL_GRACE_MS = 60_000;
/** Bytes of the layer of the image whose manifest is requested. */
const LAYER_BYTES = 4096;
/**
 * Request cap given to ab with -n. ab stops at the cap or the time limit, whichever comes
 * first, and allocates a record per request, so the cap is bounded by the duration.
 */
const AB_REQUESTS_PER_SECOND_CAP = 100_000;

/** Runs wrk with GET on `url` and parses requests/s and the p50 and p99 latency. */
export async function runWrk(tools: ToolPaths, settings: BenchSettings, url: string, seconds: number): Promise<LoadResult> {
  const args = [
    `-t${settings.wrkThreads}`,
    `-c${settings.loadConnections}`,
    `-d${seconds}s`,
    '--latency',
    '-H',
    `Accept: ${MANIFEST_ACCEPT}`,
    url,
  ];
  const { stdout } = await run(toolPath(tools, 'wrk'), args, { timeoutMs: seconds * 1000 + TOOL_GRACE_MS });
  return parseWrkOutput(stdout);
}

/** Parses the output of `wrk --latency`; throws when wrk saw non-2xx/3xx responses or socket errors. */
export function parseWrkOutput(output: string): LoadResult {
  const failures = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  if (failures !== null) {
    throw new Error(`wrk received ${failures[1]} responses with a status other than 2xx or 3xx:\n${output}`);
  }
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  if (socketErrors !== null && socketErrors.slice(1).some((count) => Number(count) > 0)) {
    throw new Error(`wrk reported socket errors:\n${output}`);
  }
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(output);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(output);
  if (rate?.[1] === undefined || p50 === null || p99 === null) {
    throw new Error(`cannot parse the wrk output:\n${output}`);
  }
  return { requestsPerSecond: Number(rate[1]), p50Ms: wrkMilliseconds(p50), p99Ms: wrkMilliseconds(p99) };
}

function wrkMilliseconds(match: RegExpExecArray): number {
  const value = Number(match[1]);
  const factor = { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
  return value * factor;
}

/** Runs `ab -i -k` (HEAD with keep-alive) on `url` and parses requests/s and the p50 and p99 latency. */
export async function runAbHead(tools: ToolPaths, settings: BenchSettings, url: string, seconds: number): Promise<LoadResult> {
  // -n must follow -t: ab's -t sets the request cap to 50000, and a later -n replaces it.
  const args = [
    '-q',
    '-i',
    '-k',
    `-c${settings.loadConnections}`,
    `-t${seconds}`,
    `-n${seconds * AB_REQUESTS_PER_SECOND_CAP}`,
    '-H',
    `Accept: ${MANIFEST_ACCEPT}`,
    url,
  ];
  const { stdout } = await run(toolPath(tools, 'ab'), args, { timeoutMs: seconds * 1000 + TOOL_GRACE_MS });
  return parseAbOutput(stdout);
}

/** Parses the output of ab; throws when ab counted failed or non-2xx requests. */
export function parseAbOutput(output: string): LoadResult {
  const failed = /Failed requests:\s+(\d+)/.exec(output);
  const non2xx = /Non-2xx responses:\s+(\d+)/.exec(output);
  if (failed === null || Number(failed[1]) > 0 || (non2xx !== null && Number(non2xx[1]) > 0)) {
    throw new Error(`ab counted failed or non-2xx requests:\n${output}`);
  }
  const rate = /Requests per second:\s+([\d.]+)/.exec(output);
  // ab prints the percentiles in whole milliseconds.
  const p50 = /^\s+50%\s+(\d+)\s*$/m.exec(output);
  const p99 = /^\s+99%\s+(\d+)\s*$/m.exec(output);
  if (rate?.[1] === undefined || p50?.[1] === undefined || p99?.[1] === undefined) {
    throw new Error(`cannot parse the ab output:\n${output}`);
  }
  return { requestsPerSecond: Number(rate[1]), p50Ms: Number(p50[1]), p99Ms: Number(p99[1]) };
}

type LoadRunner = (tools: ToolPaths, settings: BenchSettings, url: string, seconds: number) => Promise<LoadResult>;

function manifestLoad(id: string, title: string, tool: string, runner: LoadRunner): Workload {
  return {
    id,
    title,
    detail: (settings) => `${settings.loadConnections} connections for ${settings.loadSeconds} s under ${tool}, after a ${settings.warmupSeconds} s warm-up`,
    freshServersEachRepetition: false,
    transfersBlobs: false,
    metrics: LOAD_METRICS,
    blobSizes: () => [],
    async start(context, target) {
      const repository = 'bench/load';
      const image = smallImage(LAYER_BYTES);
      await pushSmallImage(target.client, repository, 'latest', image);
      await checkManifest(target.client, repository, 'latest', image.manifest.digest);
      const url = `${target.server.url}/v2/${repository}/manifests/latest`;
      await runner(context.tools, context.settings, url, context.settings.warmupSeconds);
      return {
        async run(_repetition, recorder) {
          const { value } = await recorder.measure(() => runner(context.tools, context.settings, url, context.settings.loadSeconds));
          return { ...value };
        },
      };
    },
  };
}

/** Manifest GET: `GET /v2/<repo>/manifests/<tag>` under wrk. */
export const manifestGet = manifestLoad('get', 'manifest GET by tag', 'wrk', runWrk);

/** Manifest HEAD: `HEAD /v2/<repo>/manifests/<tag>` under ab. */
export const manifestHead = manifestLoad('head', 'manifest HEAD by tag', 'ab -i -k', runAbHead);
