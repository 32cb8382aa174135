import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { PathNotFoundError, RegistryError } from '../errors.js';
import type { MetadataStore, UploadRecord } from '../metadata/store.js';
import { createDigester, parseDigest, type Digest } from '../oci/digest.js';
import type { StorageDriver, StorageWriter } from '../storage/driver.js';
import { blobPath, uploadPath } from './layout.js';

/** A chunk's position from a `Content-Range` header: first and last byte, both inclusive. */
export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

/** A chunk of an upload: the request body and what the request declared about it. */
export interface Chunk {
  readonly body: Readable;
  readonly range?: ChunkRange | undefined;
  readonly contentLength?: number | undefined;
}

/** A running sha256 of an upload's bytes, valid while `size` equals the session's size. */
interface RunningHash {
  size: number;
  hash: Hash;
}

/** Settings of the write leases that keep two nodes from writing one session at once. */
export interface UploadLeaseOptions {
  /** Lifetime of a lease without renewal, in milliseconds; it is renewed at a third of this. */
  readonly ttlMs: number;
}

const sessionIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Upload sessions: bytes are staged under `uploads/<id>` and become a blob only after their
 * digest is verified and the data is durable. Chunks are written without waiting for the disk,
 * which a process restart does not lose; completion flushes the whole staging object first. A session's size in the metadata store is the
 * truth; staged bytes past it (left by an interrupted request) are discarded on the next write.
 * The sha256 is computed while bytes arrive and recomputed from the staged bytes only when this
 * process did not see all of them (after a restart) or the client asks for sha512.
 */
export class UploadService {
  private readonly hashes = new Map<string, RunningHash>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Holder name of this process in upload leases. */
  private readonly holder = `${hostname()}/${process.pid}/${randomUUID()}`;

  /**
   * @param leases write leases in the metadata store, for stores that several nodes share; without
   *   them only requests inside this process are kept apart
   */
  constructor(
    private readonly driver: StorageDriver,
    private readonly store: MetadataStore,
    private readonly log: Logger,
    private readonly leases?: UploadLeaseOptions,
  ) {}

  /** Starts an empty session for `repository`. */
  async start(repository: string): Promise<UploadRecord> {
    const id = randomUUID();
    const now = Date.now();
    await this.store.createUpload(id, repository, now);
    const writer = await this.driver.writer(uploadPath(id), 0);
    await writer.close();
    this.hashes.set(id, { size: 0, hash: createDigester('sha256') });
    return { id, repository, size: 0, createdAt: now, updatedAt: now };
  }

  /** Returns a session of `repository`; throws BLOB_UPLOAD_UNKNOWN when there is none. */
  async get(repository: string, id: string): Promise<UploadRecord> {
    const upload = sessionIdPattern.test(id) ? await this.store.getUpload(id) : undefined;
    if (!upload || upload.repository !== repository) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload session "${id.slice(0, 100)}" does not exist in repository ${repository}: start a new upload with POST`, {
        detail: { uuid: id.slice(0, 100) },
      });
    }
    return upload;
  }

  /**
   * Appends a chunk. With a range, it must start at the session's current size, or the session
   * stays unchanged and a 416 error carries the accepted range. A failed or short chunk leaves
   * the session as it was.
   */
  async append(repository: string, id: string, chunk: Chunk): Promise<UploadRecord> {
    return this.locked(id, async () => this.appendUnlocked(await this.get(repository, id), chunk));
  }

  /**
   * Appends an optional last chunk, verifies `digestValue` against all bytes of the session and
   * moves them into place as a blob linked into `repository`. On a digest mismatch the session
   * and its bytes are deleted. Returns the blob's digest and size.
   */
  async complete(repository: string, id: string, digestValue: string, last?: Chunk): Promise<{ digest: Digest; size: number }> {
    const digest = parseDigest(digestValue);
    return this.locked(id, async () => {
      let upload = await this.get(repository, id);
      if (last) upload = await this.appendUnlocked(upload, last);
      const actual = await this.digestOf(upload, digest.algorithm);
      if (actual !== digest.hex) {
        await this.remove(id);
        throw new RegistryError(
          'DIGEST_INVALID',
          `digest ${digest.value} does not match the uploaded content (${digest.algorithm}:${actual}, ${upload.size} bytes): the upload was discarded, push the blob again`,
          { detail: { expected: digest.value, actual: `${digest.algorithm}:${actual}` } },
        );
      }
      if (!(await this.store.getBlob(digest.value))) {
        await (await this.openWriter(upload)).commit();
        await this.driver.move(uploadPath(id), blobPath(digest));
        await this.store.putBlob(digest.value, upload.size);
      }
      await this.store.linkBlob(repository, digest.value);
      await this.remove(id);
      return { digest, size: upload.size };
    });
  }

  /** Cancels a session and deletes its bytes; throws BLOB_UPLOAD_UNKNOWN when there is none. */
  async cancel(repository: string, id: string): Promise<void> {
    await this.locked(id, async () => {
      await this.get(repository, id);
      await this.remove(id);
    });
  }

  /** Deletes sessions untouched since `before` (ms since the epoch) with their bytes; returns how many. */
  async purgeStale(before: number): Promise<number> {
    let purged = 0;
    for (;;) {
      const stale = await this.store.listStaleUploads(before, 100);
      let removed = 0;
      for (const upload of stale) {
        try {
          await this.locked(upload.id, () => this.remove(upload.id));
        } catch (error) {
          // Another node holds the session's lease, most likely purging it at the same time.
          if (error instanceof RegistryError && error.status === 409) continue;
          throw error;
        }
        removed += 1;
        this.log.info({ uploadId: upload.id, repository: upload.repository, bytes: upload.size }, 'expired upload session deleted');
      }
      purged += removed;
      // A page of sessions that all stay (leased elsewhere) would come back forever.
      if (stale.length < 100 || removed === 0) return purged;
    }
  }

  private async appendUnlocked(upload: UploadRecord, chunk: Chunk): Promise<UploadRecord> {
    if (chunk.range) checkRange(upload, chunk);
    const writer = await this.openWriter(upload);

    const running = this.hashes.get(upload.id);
    let hash = running && running.size === upload.size ? running.hash : undefined;
    // An empty session needs no earlier state, so a node that did not start it (POST on one node,
    // PUT on another behind a balancer) can still hash while the bytes arrive.
    if (!hash && upload.size === 0) hash = createDigester('sha256');
    this.hashes.delete(upload.id);
    let received: number;
    try {
      received = await copyChunk(chunk, writer, hash);
      await writer.close();
    } catch (error) {
      await writer.cancel().catch((cancelError: unknown) => this.log.warn({ err: cancelError, uploadId: upload.id }, 'failed to roll back upload chunk'));
      throw error;
    }

    const size = upload.size + received;
    const now = Date.now();
    if (!(await this.store.advanceUpload(upload.id, upload.size, size, now))) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload session ${upload.id} was changed by another request: check its progress with GET and resume`, { status: 409 });
    }
    if (hash) this.hashes.set(upload.id, { size, hash });
    return { ...upload, size, updatedAt: now };
  }

  private async openWriter(upload: UploadRecord): Promise<StorageWriter> {
    try {
      return await this.driver.writer(uploadPath(upload.id), upload.size);
    } catch (error) {
      if (error instanceof PathNotFoundError) throw brokenSession(upload);
      throw error;
    }
  }

  /** Returns the hex digest of all bytes of a session, from the running hash when it is current. */
  private async digestOf(upload: UploadRecord, algorithm: Digest['algorithm']): Promise<string> {
    const running = this.hashes.get(upload.id);
    if (algorithm === 'sha256' && running && running.size === upload.size) return running.hash.copy().digest('hex');
    const hash = createDigester(algorithm);
    let stream: Readable;
    try {
      stream = await this.driver.read(uploadPath(upload.id), { offset: 0, length: upload.size });
    } catch (error) {
      if (error instanceof PathNotFoundError) throw brokenSession(upload);
      throw error;
    }
    for await (const data of stream as AsyncIterable<Buffer>) hash.update(data);
    return hash.digest('hex');
  }

  private async remove(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.driver.delete(uploadPath(id));
    await this.store.deleteUpload(id);
  }

  /**
   * Runs `work` after every earlier call for the same session in this process has finished and,
   * with leases, while this process holds the session's lease in the metadata store.
   */
  private async locked<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(() => (this.leases ? this.leased(id, this.leases, work) : work()));
    this.locks.set(id, current);
    try {
      return await current;
    } finally {
      if (this.locks.get(id) === current) this.locks.delete(id);
    }
  }

  /** Runs `work` while holding the session's lease, renewing it until `work` settles. */
  private async leased<T>(id: string, leases: UploadLeaseOptions, work: () => Promise<T>): Promise<T> {
    const take = (): Promise<boolean> => this.store.leaseUpload(id, this.holder, Date.now() + leases.ttlMs, Date.now());
    if (!(await take())) {
      // A missing session has no lease to take; `work` then reports it as unknown.
      if (!(await this.store.getUpload(id))) return work();
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload session ${id} is receiving another request on another node: wait for it to finish, check progress with GET and resume`, {
        status: 409,
      });
    }
    const renewal = setInterval(() => {
      take().then(
        (held) => held || this.log.error({ uploadId: id }, 'upload lease lost to another node'),
        (error: unknown) => this.log.warn({ err: error, uploadId: id }, 'failed to renew upload lease'),
      );
    }, leases.ttlMs / 3);
    try {
      return await work();
    } finally {
      clearInterval(renewal);
      await this.store.releaseUpload(id, this.holder).catch((error: unknown) => this.log.warn({ err: error, uploadId: id }, 'failed to release upload lease'));
    }
  }
}

/**
 * Streams a chunk's body into `writer`, feeding `hash` on the way. Throws SIZE_INVALID as soon as
 * the body is longer than its Content-Range or Content-Length declares, or when it ends short.
 * Returns the number of bytes written.
 */
async function copyChunk(chunk: Chunk, writer: StorageWriter, hash: Hash | undefined): Promise<number> {
  const expected = chunk.range ? chunk.range.end - chunk.range.start + 1 : chunk.contentLength;
  let received = 0;
  for await (const data of chunk.body as AsyncIterable<Buffer>) {
    received += data.byteLength;
    if (expected !== undefined && received > expected) throw sizeMismatch(expected, received, chunk);
    hash?.update(data);
    await writer.write(data);
  }
  if (expected !== undefined && received !== expected) throw sizeMismatch(expected, received, chunk);
  return received;
}

function checkRange(upload: UploadRecord, chunk: Chunk): void {
  const range = chunk.range as ChunkRange;
  if (range.start !== upload.size) {
    throw new RegistryError(
      'BLOB_UPLOAD_INVALID',
      `chunk starts at byte ${range.start} but the upload contains ${upload.size} bytes: send the next chunk from byte ${upload.size}`,
      { status: 416, headers: { Range: progressRange(upload.size) }, detail: { size: upload.size } },
    );
  }
  const length = range.end - range.start + 1;
  if (chunk.contentLength !== undefined && chunk.contentLength !== length) {
    throw new RegistryError(
      'SIZE_INVALID',
      `Content-Range ${range.start}-${range.end} covers ${length} bytes but Content-Length is ${chunk.contentLength}: send a body of exactly ${length} bytes`,
      { headers: { Range: progressRange(upload.size) } },
    );
  }
}

function sizeMismatch(expected: number, received: number, chunk: Chunk): RegistryError {
  const declared = chunk.range ? `Content-Range ${chunk.range.start}-${chunk.range.end}` : `Content-Length ${expected}`;
  return new RegistryError('SIZE_INVALID', `${declared} declares ${expected} bytes but the body had ${received > expected ? 'more' : received}: the chunk was discarded`);
}

function brokenSession(upload: UploadRecord): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', `staged bytes of upload session ${upload.id} are missing: start a new upload with POST`);
}

/** Formats the `Range` header of upload progress: `0-<last byte>`, or `0-0` for an empty session. */
export function progressRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}
