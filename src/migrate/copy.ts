import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';
import { pageSize, pages } from './pages.js';
import { createDigester, parseDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { blobPath } from '../registry/layout.js';
import type { StorageDriver } from '../storage/driver.js';

/** One side of a copy: a storage driver and a migrated metadata store. */
export interface RegistryBackends {
  readonly driver: StorageDriver;
  readonly store: MetadataStore;
}

/** Counts of a copy, updated while it runs. */
export interface CopyProgress {
  blobsTotal: number;
  bytesTotal: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
  repositories: number;
  manifests: number;
  tags: number;
}

/** Raised when a copied blob's bytes do not match its digest; nothing of it became visible. */
export class DigestMismatchError extends Error {
  constructor(
    readonly digest: string,
    readonly actual: string,
  ) {
    super(`blob ${digest} read from the source has digest ${actual}: the source storage is damaged, the blob was not copied`);
    this.name = 'DigestMismatchError';
  }
}

/**
 * Copies a registry: every blob (verified against its digest while it streams, and made visible
 * in the target only after), then every repository's blob links, manifests and tags. Blobs the
 * target already stores with the right size are skipped, so an interrupted copy resumes where it
 * stopped; everything else is written idempotently. Upload sessions in progress are not copied.
 * `onProgress` runs after each blob and each repository.
 */
export async function copyRegistry(
  source: RegistryBackends,
  target: RegistryBackends,
  log: Logger,
  onProgress: (progress: Readonly<CopyProgress>) => void = () => undefined,
): Promise<CopyProgress> {
  const progress: CopyProgress = { blobsTotal: 0, bytesTotal: 0, blobsCopied: 0, blobsSkipped: 0, bytesCopied: 0, repositories: 0, manifests: 0, tags: 0 };
  for await (const blob of pages((last) => source.store.listBlobs({ last, limit: pageSize }), (entry) => entry.digest)) {
    progress.blobsTotal += 1;
    progress.bytesTotal += blob.size;
  }
  onProgress(progress);

  for await (const blob of pages((last) => source.store.listBlobs({ last, limit: pageSize }), (entry) => entry.digest)) {
    if (await hasBlob(target, blob.digest, blob.size)) {
      progress.blobsSkipped += 1;
    } else {
      await copyBlob(source.driver, target, blob.digest, blob.size);
      progress.blobsCopied += 1;
      progress.bytesCopied += blob.size;
      log.debug({ digest: blob.digest, size: blob.size }, 'blob copied');
    }
    onProgress(progress);
  }

  for await (const repository of pages((last) => source.store.listRepositories({ last, limit: pageSize }), (name) => name)) {
    await copyRepository(source.store, target.store, repository, progress);
    progress.repositories += 1;
    onProgress(progress);
  }
  return progress;
}

/** Returns true when the target records the blob and its storage contains that many bytes. */
async function hasBlob(target: RegistryBackends, digest: string, size: number): Promise<boolean> {
  const record = await target.store.getBlob(digest);
  if (!record || record.size !== size) return false;
  const stored = await target.driver.stat(blobPath(parseDigest(digest))).catch(() => undefined);
  return stored?.size === size;
}

/** Streams one blob into a staging object of the target, checks its digest, then moves it into place. */
async function copyBlob(sourceDriver: StorageDriver, target: RegistryBackends, digestValue: string, size: number): Promise<void> {
  const digest = parseDigest(digestValue);
  const staging = `uploads/migrate-${randomUUID()}`;
  const hash = createDigester(digest.algorithm);
  const writer = await target.driver.writer(staging, 0);
  try {
    for await (const piece of (await sourceDriver.read(blobPath(digest))) as AsyncIterable<Buffer>) {
      hash.update(piece);
      await writer.write(piece);
    }
    const actual = `${digest.algorithm}:${hash.digest('hex')}`;
    if (actual !== digest.value || writer.size !== size) throw new DigestMismatchError(digest.value, actual);
    await writer.commit();
  } catch (error) {
    await writer.cancel().catch(() => undefined);
    await target.driver.delete(staging).catch(() => undefined);
    throw error;
  }
  await target.driver.move(staging, blobPath(digest));
  await target.store.putBlob(digest.value, size);
}

/** Copies one repository's blob links, manifests (with their references) and tags. */
async function copyRepository(source: MetadataStore, target: MetadataStore, repository: string, progress: CopyProgress): Promise<void> {
  for await (const digest of pages((last) => source.listRepositoryBlobs(repository, { last, limit: pageSize }), (value) => value)) {
    await target.linkBlob(repository, digest);
  }
  for await (const manifest of pages((last) => source.listManifests(repository, { last, limit: pageSize }), (entry) => entry.digest)) {
    const digest = parseDigest(manifest.digest);
    const actual = `${digest.algorithm}:${createDigester(digest.algorithm).update(manifest.content).digest('hex')}`;
    if (actual !== digest.value) throw new DigestMismatchError(digest.value, actual);
    const parsed = parseManifest(manifest.content, manifest.mediaType);
    const references = { blobs: parsed.blobs.map((blob) => blob.digest), manifests: parsed.manifests.map((child) => child.digest) };
    await target.putManifest(manifest, references);
    progress.manifests += 1;
  }
  for await (const tag of pages((last) => source.listTagTargets(repository, { last, limit: pageSize }), (entry) => entry.name)) {
    const manifest = await source.getManifest(repository, tag.digest);
    if (!manifest) continue;
    await target.putManifest(manifest, { blobs: [], manifests: [] }, tag.name);
    progress.tags += 1;
  }
}
