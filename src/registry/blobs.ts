import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
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
    private readonly log: Logger,
    private readonly redirect?: { readonly expiresSeconds: number },
  ) {}

  /**
   * Returns a URL of the store that serves the blob's content directly, when redirects are
   * enabled and the driver can sign one; undefined otherwise. The caller has checked the link.
   */
  async redirectUrl(digest: Digest): Promise<string | undefined> {
    if (!this.redirect || !this.driver.presignedUrl) return undefined;
    return this.driver.presignedUrl(blobPath(digest), this.redirect.expiresSeconds);
  }

  /** Returns the size of a blob linked into `repository`; throws BLOB_UNKNOWN when it is not. */
  async stat(repository: string, digest: Digest): Promise<number> {
    const blob = await this.store.getLinkedBlob(repository, digest.value);
    if (!blob) throw unknownBlob(repository, digest);
    return blob.size;
  }

  /**
   * Streams a blob linked into `repository`, whole or one range of it. A linked blob whose
   * content is missing from storage is logged as an error and reported to the client as unknown.
   */
  async open(repository: string, digest: Digest, range?: ByteRange): Promise<Readable> {
    try {
      return await this.driver.read(blobPath(digest), range);
    } catch (error) {
      if (!(error instanceof PathNotFoundError)) throw error;
      // NOTE: HEAD reads only the metadata store, so it still reports such a blob as present.
      this.log.error({ repository, digest: digest.value, path: error.path }, 'blob content missing from storage');
      throw unknownBlob(repository, digest);
    }
  }

  /**
   * Writes a blob linked into `repository`, whole or one range of it, to `destination` without
   * ending it, through the driver's `sendTo` when it has one. A blob whose content is missing
   * from storage is logged and reported as unknown, as by `open`, before anything is written.
   */
  async send(repository: string, digest: Digest, range: ByteRange | undefined, destination: Writable): Promise<void> {
    if (!this.driver.sendTo) {
      await pipeline(await this.open(repository, digest, range), destination, { end: false });
      return;
    }
    try {
      await this.driver.sendTo(blobPath(digest), range, destination);
    } catch (error) {
      if (!(error instanceof PathNotFoundError)) throw error;
      this.log.error({ repository, digest: digest.value, path: error.path }, 'blob content missing from storage');
      throw unknownBlob(repository, digest);
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
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} not found in repository ${repository}: push it, or mount it from a repository that has it`, {
    detail: { digest: digest.value },
  });
}
