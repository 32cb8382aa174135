/**
 * Concurrent pushes of small images, each a unique config, one or two layers of
 * fresh content and a manifest, into one repository per image. Every blob is pushed as a
 * client does it: HEAD (404 expected, so nothing is deduplicated), POST, then PUT `?digest=`.
 * Layer sizes come from a fixed-seed generator, so every repetition and both registries
 * push the same sizes. Each repetition runs on newly started registries.
 */
import { randomBytes } from 'node:crypto';
import { flushFilesystems } from '../disk.js';
import {
  bufferBlob,
  checkManifest,
  configDescriptor,
  imageManifest,
  layerDescriptor,
  pushMonolithic,
  putManifest,
  uniqueConfig,
} from '../oci.js';
import type { BlobSource, ManifestBytes } from '../oci.js';
import type { RegistryClient } from '../http.js';
import type { BenchSettings } from '../options.js';
import { MIB } from '../stats.js';
import { formatBytes } from '../table.js';
import { toolPath } from '../tools.js';
import { WARMUP_BLOB_BYTES } from './blob-push.js';
import type { Workload } from './types.js';

const PLAN_SEED = 0x5eed;

/** Returns the layer sizes of each small image, from a fixed-seed generator (mulberry32). */
export function smallImagePlan(settings: BenchSettings): number[][] {
  let state = PLAN_SEED;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const span = settings.smallLayerMaxBytes - settings.smallLayerMinBytes + 1;
  return Array.from({ length: settings.smallImages }, () => {
    const layerCount = random() < 0.5 ? 1 : 2;
    return Array.from({ length: layerCount }, () => settings.smallLayerMinBytes + Math.floor(random() * span));
  });
}

interface PlannedImage {
  repository: string;
  blobs: BlobSource[];
  manifest: ManifestBytes;
}

async function pushImage(client: RegistryClient, image: PlannedImage): Promise<void> {
  for (const blob of image.blobs) {
    await client.request('HEAD', `/v2/${image.repository}/blobs/${blob.digest}`, { expect: [404] });
    await pushMonolithic(client, image.repository, blob);
  }
  await putManifest(client, image.repository, 'v1', image.manifest);
}

/** Small images, all pushed at once, timed from the first request to the last response. */
export const smallImages: Workload = {
  id: 'small',
  title: 'concurrent small image pushes',
  detail: (settings) =>
    `${settings.smallImages} images pushed at once, each a config, 1 or 2 layers of ${formatBytes(settings.smallLayerMinBytes)} to ` +
    `${formatBytes(settings.smallLayerMaxBytes)} and a manifest`,
  freshServersEachRepetition: true,
  transfersBlobs: true,
  metrics: [
    { key: 'seconds', label: 'time', unit: 's', better: 'lower', digits: 2 },
    { key: 'mibPerSecond', label: 'throughput', unit: 'MiB/s', better: 'higher', digits: 1 },
  ],
  blobSizes: (settings) => [...smallImagePlan(settings).flat(), WARMUP_BLOB_BYTES],
  async start(context, target) {
    const plan = smallImagePlan(context.settings);
    // Untimed warm-up: one image of the same shape.
    const warmupLayer = context.content.freshBlob(WARMUP_BLOB_BYTES);
    const warmupConfig = bufferBlob(uniqueConfig(randomBytes(16).toString('hex'), 1));
    await pushImage(target.client, {
      repository: 'bench/warmup',
      blobs: [warmupLayer, warmupConfig],
      manifest: imageManifest(configDescriptor(warmupConfig), [layerDescriptor(warmupLayer)]),
    });

    return {
      async run(repetition, recorder) {
        const images: PlannedImage[] = plan.map((layerSizes, index) => {
          const layers = layerSizes.map((size) => context.content.freshBlob(size));
          const config = bufferBlob(uniqueConfig(randomBytes(16).toString('hex'), layers.length));
          return {
            repository: `bench/small-${repetition}-${index}`,
            blobs: [...layers, config],
            manifest: imageManifest(configDescriptor(config), layers.map(layerDescriptor)),
          };
        });
        const totalBytes = images.reduce((sum, image) => sum + image.blobs.reduce((size, blob) => size + blob.size, 0), 0);

        await flushFilesystems(toolPath(context.tools, 'sync'));
        const { seconds } = await recorder.measure(() => Promise.all(images.map((image) => pushImage(target.client, image))));
        for (const image of images) {
          await checkManifest(target.client, image.repository, 'v1', image.manifest.digest);
        }
        return { seconds, mibPerSecond: totalBytes / MIB / seconds };
      },
    };
  },
};
