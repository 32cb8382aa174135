import type { Readable } from 'node:stream';
import { PathNotFoundError, RegistryError } from '../errors.js';
import type { MetadataStore } from '../metadata/store.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import type { StorageDriver } from '../storage/driver.js';
import { blobPath } from './layout.js';

/** A byte range inside a blob, `offset` first byte, `length` bytes. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** Reads, links and unlinks blobs of repositories. Content is stored once per digest. */
export class BlobService {
  constructor(
    private readonly driver: StorageDriver,
    private readonly store: MetadataStore,
  ) {}

  /** Returns the size of a blob linked into `repository`; throws BLOB_UNKNOWN when it is not. */
  async stat(repository: string, digest: Digest): Promise<number> {
    const blob = await this.store.getLinkedBlob(repository, digest.value);
    if (!blob) throw unknownBlob(repository, digest);
    return blob.size;
  }

  /** Streams a blob linked into `repository`, whole or one range of it. */
  async open(repository: string, digest: Digest, range?: ByteRange): Promise<Readable> {
    try {
      return await this.driver.read(blobPath(digest), range);
    } catch (error) {
      if (error instanceof PathNotFoundError) throw unknownBlob(repository, digest);
      throw error;
    }
  }

  /** Removes a blob's link from `repository`; throws BLOB_UNKNOWN when it was not linked. */
  async unlink(repository: string, digest: Digest): Promise<void> {
    if (!(await this.store.unlinkBlob(repository, digest.value))) throw unknownBlob(repository, digest);
  }

  /**
   * Links a blob that the registry already stores into `repository` without copying it. With
   * `from`, the blob must be linked there; without it, any stored copy will do. Returns the size,
   * or undefined when there is nothing to mount and the client must upload.
   */
  async mount(repository: string, digestValue: string, from?: string): Promise<{ digest: Digest; size: number } | undefined> {
    const digest = parseDigest(digestValue);
    const source = from === undefined ? await this.store.getBlob(digest.value) : await this.store.getLinkedBlob(from, digest.value);
    if (!source) return undefined;
    await this.store.linkBlob(repository, digest.value);
    return { digest, size: source.size };
  }
}

function unknownBlob(repository: string, digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} is not in repository ${repository}`, { detail: { digest: digest.value } });
}
