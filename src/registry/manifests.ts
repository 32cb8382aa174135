import { RegistryError } from '../errors.js';
import type { ManifestRecord, MetadataStore } from '../metadata/store.js';
import { digestOf, isDigestReference, parseDigest } from '../oci/digest.js';
import { parseManifest, type ParsedManifest, type Reference } from '../oci/manifest.js';
import { isValidTag, validateTag } from '../oci/names.js';

/** Result of storing a manifest. */
export interface PutManifestResult {
  readonly digest: string;
  readonly subject: string | null;
}

/** Stores, reads and deletes manifests and tags. Manifest bytes are kept exactly as pushed. */
export class ManifestService {
  constructor(private readonly store: MetadataStore) {}

  /**
   * Validates and stores a manifest under a tag or a digest. Every blob it references must be
   * linked into the repository and every manifest an index lists must exist in it.
   */
  async put(repository: string, reference: string, contentType: string | undefined, body: Buffer): Promise<PutManifestResult> {
    let digest: string;
    let tag: string | undefined;
    if (isDigestReference(reference)) {
      const expected = parseDigest(reference);
      digest = digestOf(body, expected.algorithm);
      if (digest !== expected.value) {
        throw new RegistryError('DIGEST_INVALID', `manifest digest is ${digest}, not ${expected.value} as given in the URL`, {
          detail: { expected: expected.value, actual: digest },
        });
      }
    } else {
      validateTag(reference);
      tag = reference;
      digest = digestOf(body);
    }
    const parsed = parseManifest(body, contentType);
    await this.checkReferences(repository, parsed);
    const record: ManifestRecord = {
      repository,
      digest,
      mediaType: parsed.mediaType,
      content: body,
      artifactType: parsed.artifactType,
      subject: parsed.subject,
      annotations: parsed.annotations,
      createdAt: Date.now(),
    };
    const digests = (references: readonly Reference[]): string[] => references.map((reference) => reference.digest);
    await this.store.putManifest(record, { blobs: digests(parsed.blobs), manifests: digests(parsed.manifests) }, tag);
    return { digest, subject: parsed.subject };
  }

  /**
   * Checks that every referenced blob is linked into the repository (MANIFEST_BLOB_UNKNOWN) and
   * every listed manifest is in it (MANIFEST_UNKNOWN), each with the size its descriptor states
   * (MANIFEST_INVALID otherwise, because clients verify sizes and would fail to pull).
   */
  private async checkReferences(repository: string, parsed: ParsedManifest): Promise<void> {
    const blobSizes = await this.store.linkedBlobSizes(repository, parsed.blobs.map((blob) => blob.digest));
    const missingBlob = parsed.blobs.find((blob) => !blobSizes.has(blob.digest));
    if (missingBlob) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `${missingBlob.field} references blob ${missingBlob.digest}, which is not in repository ${repository}: push the blob first`, {
        detail: { digest: missingBlob.digest },
      });
    }
    const manifestSizes = await this.store.manifestSizes(repository, parsed.manifests.map((child) => child.digest));
    const missingManifest = parsed.manifests.find((child) => !manifestSizes.has(child.digest));
    if (missingManifest) {
      throw new RegistryError('MANIFEST_UNKNOWN', `${missingManifest.field} references manifest ${missingManifest.digest}, which is not in repository ${repository}: push it first`, {
        status: 400,
        detail: { digest: missingManifest.digest },
      });
    }
    for (const [references, sizes] of [[parsed.blobs, blobSizes], [parsed.manifests, manifestSizes]] as const) {
      const wrong = references.find((reference) => sizes.get(reference.digest) !== reference.size);
      if (wrong) {
        throw new RegistryError('MANIFEST_INVALID', `${wrong.field} gives size ${wrong.size} for ${wrong.digest}, but the stored content has ${sizes.get(wrong.digest)} bytes: fix the descriptor's size`, {
          detail: { digest: wrong.digest, size: wrong.size, actual: sizes.get(wrong.digest) },
        });
      }
    }
  }

  /** Returns a manifest by tag or digest; throws MANIFEST_UNKNOWN, or NAME_UNKNOWN for an unknown repository. */
  async get(repository: string, reference: string): Promise<ManifestRecord> {
    const manifest = isDigestReference(reference)
      ? await this.store.getManifest(repository, parseDigest(reference).value)
      : await this.getByTag(repository, reference);
    if (manifest) return manifest;
    if (!(await this.store.repositoryExists(repository))) throw unknownRepository(repository);
    throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} not found in repository ${repository}: list its tags with GET /v2/${repository}/tags/list`, {
      detail: { reference },
    });
  }

  /** Deletes a manifest by digest (with its tags) or one tag; throws MANIFEST_UNKNOWN when absent. */
  async delete(repository: string, reference: string): Promise<void> {
    const deleted = isDigestReference(reference)
      ? await this.store.deleteManifest(repository, parseDigest(reference).value)
      : isValidTag(reference) && (await this.store.deleteTag(repository, reference));
    if (deleted) return;
    if (!(await this.store.repositoryExists(repository))) throw unknownRepository(repository);
    throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} not found in repository ${repository}: nothing was deleted`, { detail: { reference } });
  }

  /** Looks a tag up. A reference that is not a valid tag cannot name anything, so it is simply not found. */
  private async getByTag(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    return isValidTag(tag) ? this.store.getManifestByTag(repository, tag) : undefined;
  }
}

/** Builds the NAME_UNKNOWN error for a repository the registry has never stored anything in. */
export function unknownRepository(repository: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', `repository ${repository} not found: push an image to create it, or list repositories with GET /v2/_catalog`, { detail: { name: repository } });
}
