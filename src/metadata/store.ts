/**
 * The metadata store interface: repositories, blob links, manifests, tags and upload sessions.
 *
 * Blob bytes live in the storage driver. Everything else a request needs is stored here.
 * Every implementation passes the shared suite in `test/metadata-store-suite.ts`.
 */

/** A manifest as stored: its exact bytes and the fields the API serves without parsing them again. */
export interface ManifestRecord {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly content: Buffer;
  /** `artifactType`, or for an image manifest without one, its config media type. */
  readonly artifactType: string | null;
  /** Digest of the `subject` descriptor, when the manifest has one. */
  readonly subject: string | null;
  /** `annotations` of the manifest as a JSON object, when present. */
  readonly annotations: Record<string, string> | null;
  readonly createdAt: number;
}

/** Digests a manifest references: blobs (config, layers) and child manifests (index). */
export interface ManifestReferences {
  readonly blobs: readonly string[];
  readonly manifests: readonly string[];
}

/** An upload session. `size` counts the bytes committed to the staging object so far. */
export interface UploadRecord {
  readonly id: string;
  readonly repository: string;
  readonly size: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A descriptor of a manifest that refers to a subject, as listed by the referrers API. */
export interface ReferrerRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | null;
  readonly annotations: Record<string, string> | null;
}

/** One page request: entries strictly after `last` in ASCII order, at most `limit` of them. */
export interface PageRequest {
  readonly last?: string | undefined;
  readonly limit: number;
}

/** Persistent metadata of the registry. All methods are safe to call concurrently. */
export interface MetadataStore {
  /** Driver name for logs and health reports, for example `sqlite`. */
  readonly name: string;

  /** Applies pending schema migrations. Called once at start-up, before any other method. */
  migrate(): Promise<void>;

  /** Checks that the database responds; throws BackendUnavailableError when it does not. */
  ping(): Promise<void>;

  /** Closes connections. No method may be called afterwards. */
  close(): Promise<void>;

  /** Returns true when the repository has any blob, manifest or tag. */
  repositoryExists(repository: string): Promise<boolean>;

  /** Lists repository names in ASCII order, one page at a time. */
  listRepositories(page: PageRequest): Promise<string[]>;

  /** Records a blob's size, once per digest for the whole registry. */
  putBlob(digest: string, size: number): Promise<void>;

  /** Returns the size of a blob stored anywhere in the registry, or undefined. */
  getBlob(digest: string): Promise<{ size: number } | undefined>;

  /** Links a stored blob into a repository, creating the repository when it is new. */
  linkBlob(repository: string, digest: string): Promise<void>;

  /** Returns the size of a blob linked into `repository`, or undefined when it is not linked. */
  getLinkedBlob(repository: string, digest: string): Promise<{ size: number } | undefined>;

  /** Returns one repository that links the blob, or undefined. */
  findRepositoryWithBlob(digest: string): Promise<string | undefined>;

  /** Removes a blob's link from a repository; returns false when it was not linked. */
  unlinkBlob(repository: string, digest: string): Promise<boolean>;

  /** Returns the size of each blob in `digests` that is linked into `repository`; absent ones are left out. */
  linkedBlobSizes(repository: string, digests: readonly string[]): Promise<Map<string, number>>;

  /** Returns the size of each manifest of `repository` in `digests`; absent ones are left out. */
  manifestSizes(repository: string, digests: readonly string[]): Promise<Map<string, number>>;

  /**
   * Stores a manifest with its references and, when `tag` is given, points the tag at it, in one
   * transaction. Storing a digest that exists again only moves the tag.
   */
  putManifest(manifest: ManifestRecord, references: ManifestReferences, tag?: string): Promise<void>;

  /** Returns a manifest by digest, or undefined. */
  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined>;

  /** Returns the manifest a tag points at, or undefined. */
  getManifestByTag(repository: string, tag: string): Promise<ManifestRecord | undefined>;

  /** Deletes a manifest and every tag that points at it; returns false when it did not exist. */
  deleteManifest(repository: string, digest: string): Promise<boolean>;

  /** Deletes one tag; returns false when it did not exist. */
  deleteTag(repository: string, tag: string): Promise<boolean>;

  /** Lists tag names of a repository in ASCII order, one page at a time. */
  listTags(repository: string, page: PageRequest): Promise<string[]>;

  /** Lists manifests of `repository` whose subject is `subject`, optionally of one artifact type. */
  listReferrers(repository: string, subject: string, artifactType?: string): Promise<ReferrerRecord[]>;

  /** Lists every stored blob in digest order, one page at a time (for copying a registry). */
  listBlobs(page: PageRequest): Promise<{ digest: string; size: number }[]>;

  /** Lists the digests of the blobs linked into `repository` in digest order, one page at a time. */
  listRepositoryBlobs(repository: string, page: PageRequest): Promise<string[]>;

  /** Lists the manifests of `repository` in digest order, one page at a time. */
  listManifests(repository: string, page: PageRequest): Promise<ManifestRecord[]>;

  /** Lists the tags of `repository` with the digest each points at, in ASCII order of the name. */
  listTagTargets(repository: string, page: PageRequest): Promise<{ name: string; digest: string }[]>;

  /** Creates an upload session with size 0. */
  createUpload(id: string, repository: string, now: number): Promise<void>;

  /** Returns an upload session, or undefined. */
  getUpload(id: string): Promise<UploadRecord | undefined>;

  /**
   * Sets an upload's size from `expectedSize` to `size`. Returns false, changing nothing, when the
   * stored size is not `expectedSize` (another request moved it first) or the session is gone.
   */
  advanceUpload(id: string, expectedSize: number, size: number, now: number): Promise<boolean>;

  /**
   * Takes the write lease of an upload for `holder` until `expiresAt`, or extends it. Succeeds
   * when the lease is free, expired at `now`, or already held by `holder`. Returns false when
   * another holder has it or the session is gone.
   */
  leaseUpload(id: string, holder: string, expiresAt: number, now: number): Promise<boolean>;

  /** Frees the write lease of an upload when `holder` has it. */
  releaseUpload(id: string, holder: string): Promise<void>;

  /** Deletes an upload session; returns false when it did not exist. */
  deleteUpload(id: string): Promise<boolean>;

  /** Lists upload sessions not updated since `before` (milliseconds since the epoch). */
  listStaleUploads(before: number, limit: number): Promise<UploadRecord[]>;
}
