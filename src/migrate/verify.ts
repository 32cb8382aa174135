import type { MetadataStore } from '../metadata/store.js';
import { pageSize, pages } from './pages.js';
import { createDigester, parseDigest } from '../oci/digest.js';
import { blobPath } from '../registry/layout.js';
import type { RegistryBackends } from './copy.js';

/** Result of {@link verifyCopy}: counts checked and one line per difference. */
export interface VerifyReport {
  blobs: number;
  manifests: number;
  tags: number;
  problems: string[];
}

/**
 * Checks a copy against its source: reads every blob back from the target and hashes it, and
 * compares every repository's blob links, manifests (byte for byte) and tags. Stops listing
 * problems after `maxProblems`.
 */
export async function verifyCopy(source: RegistryBackends, target: RegistryBackends, maxProblems = 100): Promise<VerifyReport> {
  const report: VerifyReport = { blobs: 0, manifests: 0, tags: 0, problems: [] };
  const problem = (text: string): void => {
    if (report.problems.length < maxProblems) report.problems.push(text);
  };
  for await (const blob of pages((last) => source.store.listBlobs({ last, limit: pageSize }), (entry) => entry.digest)) {
    report.blobs += 1;
    const actual = await hashStored(target, blob.digest);
    if (actual === undefined) problem(`blob ${blob.digest} is missing from the target storage`);
    else if (actual.digest !== blob.digest || actual.size !== blob.size) {
      problem(`blob ${blob.digest} (${blob.size} bytes) reads back from the target as ${actual.digest} (${actual.size} bytes)`);
    }
  }
  for await (const repository of pages((last) => source.store.listRepositories({ last, limit: pageSize }), (name) => name)) {
    await compareRepository(source.store, target.store, repository, report, problem);
  }
  return report;
}

async function hashStored(target: RegistryBackends, digestValue: string): Promise<{ digest: string; size: number } | undefined> {
  const digest = parseDigest(digestValue);
  let stream;
  try {
    stream = await target.driver.read(blobPath(digest));
  } catch {
    return undefined;
  }
  const hash = createDigester(digest.algorithm);
  let size = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    hash.update(piece);
    size += piece.byteLength;
  }
  return { digest: `${digest.algorithm}:${hash.digest('hex')}`, size };
}

async function compareRepository(
  source: MetadataStore,
  target: MetadataStore,
  repository: string,
  report: VerifyReport,
  problem: (text: string) => void,
): Promise<void> {
  for await (const digest of pages((last) => source.listRepositoryBlobs(repository, { last, limit: pageSize }), (value) => value)) {
    if (!(await target.getLinkedBlob(repository, digest))) problem(`blob ${digest} is not linked into ${repository} in the target`);
  }
  for await (const manifest of pages((last) => source.listManifests(repository, { last, limit: pageSize }), (entry) => entry.digest)) {
    report.manifests += 1;
    const copied = await target.getManifest(repository, manifest.digest);
    if (!copied) problem(`manifest ${repository}@${manifest.digest} is missing from the target`);
    else if (!copied.content.equals(manifest.content)) problem(`manifest ${repository}@${manifest.digest} differs in the target`);
  }
  for await (const tag of pages((last) => source.listTagTargets(repository, { last, limit: pageSize }), (entry) => entry.name)) {
    report.tags += 1;
    const copied = await target.getManifestByTag(repository, tag.name);
    if (copied?.digest !== tag.digest) problem(`tag ${repository}:${tag.name} points at ${copied?.digest ?? 'nothing'} in the target, not ${tag.digest}`);
  }
}
