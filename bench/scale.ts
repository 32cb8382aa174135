/**
 * The scale mode: berth alone, filled through the HTTP API to growing counts of tags in one
 * repository, then of repositories. It times the fill, and at each count the latency of
 * single requests sent one at a time: a tag page, a catalog page, a manifest GET and a push.
 * Every tag and repository points to one manifest, so the fill measures metadata rows, not content.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RegistryClient } from './http.js';
import { ProcessProbe } from './measure.js';
import { MANIFEST_ACCEPT, pushMonolithic, putManifest, smallImage } from './oci.js';
import type { SmallImage } from './oci.js';
import type { BenchSettings } from './options.js';
import { startBerth } from './servers.js';
import { MIB, median, quantile } from './stats.js';
import { runPool } from './workloads/types.js';

/** Median and 95th percentile of single-request latencies, in milliseconds. */
export interface Latency {
  medianMs: number;
  p95Ms: number;
}

/** Measurements at one count of tags or repositories. */
export interface ScaleLevel {
  count: number;
  /** Rows added to reach this count, and the wall time that took. */
  added: number;
  populateSeconds: number;
  /** Latency per operation name. */
  latencies: Record<string, Latency>;
  rssMiB: number;
  /** Size of berth's SQLite database with its write-ahead log, in MiB. */
  metadataMiB: number;
}

/** Results of one scale run. */
export interface ScaleResult {
  tagLevels: ScaleLevel[];
  repositoryLevels: ScaleLevel[];
}

/** Inputs of the scale mode. */
export interface ScaleSetup {
  repositoryRoot: string;
  dataDir: string;
  settings: BenchSettings;
  log: (line: string) => void;
}

/** Operations timed at each tag count. */
export const TAG_OPERATIONS = ['tagPage', 'manifestGet', 'pushTag'] as const;
/** Operations timed at each repository count. */
export const REPOSITORY_OPERATIONS = ['catalogPage', 'manifestGet', 'pushRepository'] as const;

const TAGS_REPOSITORY = 'scale/tags';
/** Repository of the untimed warm-up before the first count; it adds one repository to the catalog. */
const WARMUP_REPOSITORY = 'scale/warmup';
/** Requests of each kind in the warm-up before the first count. */
export const SERVER_WARMUP_REQUESTS = 1000;
const PAGE_SIZE = 100;
const LAYER_BYTES = 4096;

function tagName(index: number): string {
  return `t${String(index).padStart(7, '0')}`;
}

function repositoryName(index: number): string {
  return `scale/r${String(index).padStart(7, '0')}`;
}

/** Fills berth level by level and measures each level. */
export async function runScale(setup: ScaleSetup): Promise<ScaleResult> {
  const { settings } = setup;
  const server = await startBerth(setup.repositoryRoot, setup.dataDir);
  const client = new RegistryClient(server.url, Math.max(64, settings.scaleConcurrency));
  const probe = new ProcessProbe(server.pid);
  try {
    const image = smallImage(LAYER_BYTES);
    for (const blob of image.blobs) {
      await pushMonolithic(client, TAGS_REPOSITORY, blob);
    }
    setup.log(`warming up: ${SERVER_WARMUP_REQUESTS} requests of each kind in ${WARMUP_REPOSITORY}`);
    await warmUpServer(client, image, settings.scaleConcurrency);
    const measureLevel = async (count: number, added: number, populateSeconds: number, latencies: Record<string, Latency>): Promise<ScaleLevel> => ({
      count,
      added,
      populateSeconds,
      latencies,
      rssMiB: probe.rssBytes() / MIB,
      metadataMiB: await metadataSize(setup.dataDir),
    });

    const tagLevels: ScaleLevel[] = [];
    let tags = 0;
    for (const count of settings.scaleTagCounts) {
      const added = count - tags;
      setup.log(`tags: adding ${added} tags to reach ${count} in ${TAGS_REPOSITORY}`);
      const started = performance.now();
      await runPool(added, settings.scaleConcurrency, (index) => putManifest(client, TAGS_REPOSITORY, tagName(tags + index), image.manifest));
      const populateSeconds = (performance.now() - started) / 1000;
      tags = count;
      const latencies = await measureTagOperations(client, image, count, settings.scaleSamples);
      const level = await measureLevel(count, added, populateSeconds, latencies);
      tagLevels.push(level);
      setup.log(`  ${describeLevel(level)}`);
    }

    const repositoryLevels: ScaleLevel[] = [];
    let repositories = 0;
    for (const count of settings.scaleRepositoryCounts) {
      const added = count - repositories;
      setup.log(`repositories: adding ${added} repositories to reach ${count}`);
      const started = performance.now();
      await runPool(added, settings.scaleConcurrency, (index) => createRepository(client, repositoryName(repositories + index), image));
      const populateSeconds = (performance.now() - started) / 1000;
      repositories = count;
      const latencies = await measureRepositoryOperations(client, image, count, settings.scaleSamples);
      const level = await measureLevel(count, added, populateSeconds, latencies);
      repositoryLevels.push(level);
      setup.log(`  ${describeLevel(level)}`);
    }
    return { tagLevels, repositoryLevels };
  } finally {
    client.close();
    await server.stop();
  }
}

function describeLevel(level: ScaleLevel): string {
  const operations = Object.entries(level.latencies).map(([name, latency]) => `${name} ${latency.medianMs.toFixed(2)} ms`);
  return `${level.count}: filled in ${level.populateSeconds.toFixed(1)} s; ${operations.join(', ')}; RSS ${level.rssMiB.toFixed(1)} MiB`;
}

/**
 * Sends tag PUTs, tag pages, catalog pages and manifest GETs to a repository of its own, so that
 * the first count is not measured on cold server code.
 */
async function warmUpServer(client: RegistryClient, image: SmallImage, concurrency: number): Promise<void> {
  await createRepository(client, WARMUP_REPOSITORY, image);
  await runPool(SERVER_WARMUP_REQUESTS, concurrency, (index) => putManifest(client, WARMUP_REPOSITORY, tagName(index), image.manifest));
  for (let request = 0; request < SERVER_WARMUP_REQUESTS; request += 1) {
    const last = tagName(randomIndex(SERVER_WARMUP_REQUESTS));
    await fetchPage(client, `/v2/${WARMUP_REPOSITORY}/tags/list?n=${PAGE_SIZE}&last=${last}`, 'tags');
    await fetchPage(client, `/v2/_catalog?n=${PAGE_SIZE}`, 'repositories');
    await getManifest(client, WARMUP_REPOSITORY, last, image.manifest.digest);
  }
}

/** Creates a repository that contains the image: mounts its blobs from the tags repository, then PUTs the manifest as `latest`. */
async function createRepository(client: RegistryClient, repository: string, image: SmallImage): Promise<void> {
  for (const blob of image.blobs) {
    await client.request('POST', `/v2/${repository}/blobs/uploads/?mount=${blob.digest}&from=${TAGS_REPOSITORY}`, { expect: [201] });
  }
  await putManifest(client, repository, 'latest', image.manifest);
}

async function measureTagOperations(client: RegistryClient, image: SmallImage, count: number, samples: number): Promise<Record<string, Latency>> {
  let pushed = 0;
  const operations: Record<(typeof TAG_OPERATIONS)[number], () => Promise<void>> = {
    tagPage: () => fetchPage(client, `/v2/${TAGS_REPOSITORY}/tags/list?n=${PAGE_SIZE}&last=${tagName(randomIndex(count))}`, 'tags'),
    manifestGet: () => getManifest(client, TAGS_REPOSITORY, tagName(randomIndex(count)), image.manifest.digest),
    pushTag: () => {
      pushed += 1;
      return putManifest(client, TAGS_REPOSITORY, `p${count}-${pushed}`, image.manifest);
    },
  };
  return timeOperations(operations, samples);
}

async function measureRepositoryOperations(
  client: RegistryClient,
  image: SmallImage,
  count: number,
  samples: number,
): Promise<Record<string, Latency>> {
  let pushed = 0;
  const operations: Record<(typeof REPOSITORY_OPERATIONS)[number], () => Promise<void>> = {
    catalogPage: () => fetchPage(client, `/v2/_catalog?n=${PAGE_SIZE}&last=${repositoryName(randomIndex(count))}`, 'repositories'),
    manifestGet: () => getManifest(client, repositoryName(randomIndex(count)), 'latest', image.manifest.digest),
    pushRepository: () => {
      pushed += 1;
      return createRepository(client, `scale/new-${count}-${pushed}`, image);
    },
  };
  return timeOperations(operations, samples);
}

/** Times each operation `samples` times, one request at a time, after as many untimed calls. */
async function timeOperations(operations: Record<string, () => Promise<void>>, samples: number): Promise<Record<string, Latency>> {
  const latencies: Record<string, Latency> = {};
  for (const [name, operation] of Object.entries(operations)) {
    for (let warmup = 0; warmup < samples; warmup += 1) {
      await operation();
    }
    const durations: number[] = [];
    for (let sample = 0; sample < samples; sample += 1) {
      const started = performance.now();
      await operation();
      durations.push(performance.now() - started);
    }
    latencies[name] = { medianMs: median(durations), p95Ms: quantile(durations, 0.95) };
  }
  return latencies;
}

async function fetchPage(client: RegistryClient, path: string, field: 'tags' | 'repositories'): Promise<void> {
  const response = await client.request('GET', path, { expect: [200] });
  const entries = (JSON.parse(response.body.toString('utf8')) as Record<string, unknown>)[field];
  if (!Array.isArray(entries) || entries.length > PAGE_SIZE) {
    throw new Error(`GET ${path}: expected a "${field}" array of at most ${PAGE_SIZE} entries, got ${response.body.toString('utf8').slice(0, 300)}`);
  }
}

async function getManifest(client: RegistryClient, repository: string, reference: string, digest: string): Promise<void> {
  const response = await client.request('GET', `/v2/${repository}/manifests/${reference}`, { expect: [200], headers: { Accept: MANIFEST_ACCEPT } });
  if (response.headers['docker-content-digest'] !== digest) {
    throw new Error(`GET /v2/${repository}/manifests/${reference}: Docker-Content-Digest is ${String(response.headers['docker-content-digest'])}, expected ${digest}`);
  }
}

function randomIndex(count: number): number {
  return Math.floor(Math.random() * count);
}

/** Size of metadata.db and its -wal file in berth's data directory (the default SQLite path), in MiB. */
async function metadataSize(dataDir: string): Promise<number> {
  let bytes = 0;
  for (const name of ['metadata.db', 'metadata.db-wal']) {
    try {
      bytes += (await stat(join(dataDir, name))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
  }
  return bytes / MIB;
}
