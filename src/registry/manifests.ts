import { RegistryError } from '../errors.js';
import type { ManifestRecord, MetadataStore } from '../metadata/store.js';
import { digestOf, isDigestReference, parseDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
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
    const missingBlobs = await this.store.missingBlobs(repository, parsed.blobs);
    if (missingBlobs.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references blob ${missingBlobs[0]} which is not in repository ${repository}: push the blob first`, {
        detail: { digest: missingBlobs[0], missing: missingBlobs },
      });
    }
    const missingManifests = await this.store.missingManifests(repository, parsed.manifests);
    if (missingManifests.length > 0) {
      throw new RegistryError('MANIFEST_UNKNOWN', `index references manifest ${missingManifests[0]} which is not in repository ${repository}: push it first`, {
        status: 400,
        detail: { digest: missingManifests[0], missing: missingManifests },
      });
    }
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
    await this.store.putManifest(record, { blobs: parsed.blobs, manifests: parsed.manifests }, tag);
    return { digest, subject: parsed.subject };
  }

  /** Returns a manifest by tag or digest; throws MANIFEST_UNKNOWN, or NAME_UNKNOWN for an unknown repository. */
  async get(repository: string, reference: string): Promise<ManifestRecord> {
    const manifest = isDigestReference(reference)
      ? await this.store.getManifest(repository, parseDigest(reference).value)
      : await this.getByTag(repository, reference);
    if (manifest) return manifest;
    if (!(await this.store.repositoryExists(repository))) throw unknownRepository(repository);
    throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repository}`, { detail: { reference } });
  }

  /** Deletes a manifest by digest (with its tags) or one tag; throws MANIFEST_UNKNOWN when absent. */
  async delete(repository: string, reference: string): Promise<void> {
    const deleted = isDigestReference(reference)
      ? await this.store.deleteManifest(repository, parseDigest(reference).value)
      : isValidTag(reference) && (await this.store.deleteTag(repository, reference));
    if (deleted) return;
    if (!(await this.store.repositoryExists(repository))) throw unknownRepository(repository);
    throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repository}`, { detail: { reference } });
  }

  /** Looks a tag up. A reference that is not a valid tag cannot name anything, so it is simply not found. */
  private async getByTag(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    return isValidTag(tag) ? this.store.getManifestByTag(repository, tag) : undefined;
  }
}

/** Builds the NAME_UNKNOWN error for a repository the registry has never stored anything in. */
export function unknownRepository(repository: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to the registry`, { detail: { name: repository } });
}
