import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { BackendUnavailableError, PathNotFoundError } from '../errors.js';
import type { StorageDriver, StorageWriter } from './driver.js';
import { createS3Client, isMissing, type S3ConnectionOptions } from './s3-client.js';
import { composeObject } from './s3-compose.js';
import { chainSize, listSegments, resolveChain, s3Context, segmentKey, segmentMarker, type S3Context, type Segment } from './s3-segments.js';
import { S3SegmentWriter } from './s3-writer.js';

/** Settings of {@link S3Driver}. */
export interface S3DriverOptions extends S3ConnectionOptions {
  readonly bucket: string;
  /** Key prefix of every object, without a trailing slash; empty for the bucket's root. */
  readonly prefix: string;
  /** Size of multipart upload parts, in bytes. */
  readonly partSize: number;
  /** Endpoint clients reach the store at, for presigned URLs; `endpoint` when undefined. */
  readonly publicEndpoint?: string | undefined;
}

/**
 * Stores objects in an S3 bucket. A whole object (a blob) is one S3 object. An object built by
 * writers (an upload's staged bytes) is a chain of segment objects, one per writer, which `move`
 * joins into one object inside the store. Any number of processes can share the bucket, because
 * no state lives in the process between calls.
 */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  private readonly ctx: S3Context;
  private readonly prefix: string;
  private readonly presignClient: S3Client;

  constructor(options: S3DriverOptions) {
    const client = createS3Client(options);
    this.ctx = s3Context(client, options.bucket, options.partSize);
    this.prefix = options.prefix.replace(/\/+$/, '');
    this.presignClient = options.publicEndpoint ? createS3Client({ ...options, endpoint: options.publicEndpoint }) : client;
  }

  async stat(path: string): Promise<{ size: number }> {
    const key = this.key(path);
    const whole = await this.headObject(key);
    if (whole !== undefined) return { size: whole };
    const segments = await listSegments(this.ctx, key);
    if (segments.length === 0) throw new PathNotFoundError(path);
    return { size: chainSize(resolveChain(segments).chain) };
  }

  async read(path: string, range?: { offset: number; length: number }): Promise<Readable> {
    const key = this.key(path);
    // A blob is a whole object, so one GET usually does; only a missing key needs a second look.
    if (range?.length !== 0) {
      const body = await this.getObject(key, range);
      if (body) return body;
    } else if ((await this.headObject(key)) !== undefined) {
      return Readable.from([]);
    }
    const segments = await listSegments(this.ctx, key);
    if (segments.length === 0) throw new PathNotFoundError(path);
    const { chain } = resolveChain(segments, range && range.offset + range.length);
    const offset = range?.offset ?? 0;
    const length = range?.length ?? chainSize(chain) - offset;
    return Readable.from(this.readChain(chain, offset, length));
  }

  async writer(path: string, offset: number): Promise<StorageWriter> {
    const key = this.key(path);
    const segments = await this.segmentsFor(key, path, offset);
    const { chain, stale } = resolveChain(segments, offset);
    const size = chainSize(chain);
    if (size < offset || (offset > 0 && segments.length === 0)) {
      throw new PathNotFoundError(`${path} (contains ${size} bytes, expected at least ${offset})`);
    }
    await this.deleteKeys(stale.map((segment) => segment.key));
    if (size > offset) await this.truncate(chain, offset);
    if (offset === 0) await this.deleteKeys([key]);
    return new S3SegmentWriter(this.ctx, segmentKey(key, offset), offset, segments.length === 0 && offset === 0);
  }

  async move(source: string, destination: string): Promise<void> {
    const from = this.key(source);
    const to = this.key(destination);
    const whole = await this.headObject(from);
    if (whole !== undefined) {
      await composeObject(this.ctx, [{ key: from, start: 0, length: whole }], to);
    } else {
      const segments = await listSegments(this.ctx, from);
      if (segments.length === 0) throw new PathNotFoundError(source);
      const { chain } = resolveChain(segments);
      await composeObject(this.ctx, chain.map((segment) => ({ key: segment.key, start: 0, length: segment.size })), to);
    }
    await this.delete(source);
  }

  async delete(path: string): Promise<void> {
    const key = this.key(path);
    await this.deleteKeys([key]);
    const keys: string[] = [];
    for await (const entry of this.listKeys(`${key}/`)) keys.push(entry);
    await this.deleteKeys(keys);
    await this.abortUploads(`${key}/`);
  }

  async list(prefix: string): Promise<string[]> {
    const base = `${this.key(prefix)}/`;
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.ctx.send<{ Contents?: { Key?: string }[]; CommonPrefixes?: { Prefix?: string }[]; NextContinuationToken?: string }>(
        new ListObjectsV2Command({ Bucket: this.ctx.bucket, Prefix: base, Delimiter: '/', ContinuationToken: token }),
      );
      for (const entry of page.Contents ?? []) names.add((entry.Key as string).slice(base.length));
      for (const entry of page.CommonPrefixes ?? []) names.add((entry.Prefix as string).slice(base.length, -1));
      token = page.NextContinuationToken;
    } while (token);
    return [...names].filter((name) => name !== '' && !name.startsWith(segmentMarker)).sort();
  }

  async ping(): Promise<void> {
    try {
      await this.ctx.send(new HeadBucketCommand({ Bucket: this.ctx.bucket }));
    } catch (error) {
      if (error instanceof BackendUnavailableError) throw error;
      // HeadBucket responses have no body, so a missing bucket shows only as a 404 status.
      if (isMissing(error)) {
        throw new BackendUnavailableError(`object store bucket ${this.ctx.bucket} does not exist: create it or fix storage.s3.bucket`, { cause: error });
      }
      throw new BackendUnavailableError(`object store bucket ${this.ctx.bucket} is not usable (${(error as Error).name}: ${(error as Error).message})`, { cause: error });
    }
  }

  /**
   * Returns a URL that lets its holder GET the whole object at `path` from the store directly for
   * `expiresSeconds`, signed for the endpoint clients reach. The object is not checked.
   */
  presignedUrl(path: string, expiresSeconds: number): Promise<string> {
    return getSignedUrl(this.presignClient, new GetObjectCommand({ Bucket: this.ctx.bucket, Key: this.key(path) }), { expiresIn: expiresSeconds });
  }

  /** Maps a driver path to its key, rejecting absolute paths, empty segments and `..`. */
  private key(path: string): string {
    const parts = path.split('/');
    if (path === '' || parts.some((part) => part === '' || part === '.' || part === '..')) {
      throw new Error(`invalid storage path ${JSON.stringify(path)}: expected a relative path without empty, . or .. segments`);
    }
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  /** Returns the size of the whole object at `key`, or undefined when there is none. */
  private async headObject(key: string): Promise<number | undefined> {
    try {
      const head = await this.ctx.send<{ ContentLength?: number }>(new HeadObjectCommand({ Bucket: this.ctx.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Segments of the object at `key`; a whole object there becomes its first segment first. */
  private async segmentsFor(key: string, path: string, offset: number): Promise<Segment[]> {
    if (offset === 0) return listSegments(this.ctx, key);
    const whole = await this.headObject(key);
    if (whole !== undefined) {
      if (whole < offset) throw new PathNotFoundError(`${path} (contains ${whole} bytes, expected at least ${offset})`);
      await composeObject(this.ctx, [{ key, start: 0, length: whole }], segmentKey(key, 0));
      await this.deleteKeys([key]);
    }
    return listSegments(this.ctx, key);
  }

  /** Cuts a chain back to `size` bytes: the segment that crosses `size` is replaced by its prefix. */
  private async truncate(chain: readonly Segment[], size: number): Promise<void> {
    for (const segment of chain) {
      const end = segment.start + segment.size;
      if (segment.start >= size) await this.deleteKeys([segment.key]);
      else if (end > size) {
        const shorter = segmentKey(segment.key.slice(0, segment.key.lastIndexOf('/')), segment.start);
        await composeObject(this.ctx, [{ key: segment.key, start: 0, length: size - segment.start }], shorter);
        await this.deleteKeys([segment.key]);
      }
    }
  }

  /** Streams the whole object at `key`, or a range of it; returns undefined when there is no such object. */
  private async getObject(key: string, range?: { offset: number; length: number }): Promise<Readable | undefined> {
    const bytes = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
    try {
      const response = await this.ctx.send<{ Body?: Readable }>(new GetObjectCommand({ Bucket: this.ctx.bucket, Key: key, Range: bytes }));
      return response.Body as Readable;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  private async getRange(key: string, offset: number, length: number): Promise<Readable> {
    if (length === 0) return Readable.from([]);
    const body = await this.getObject(key, { offset, length });
    if (!body) throw new PathNotFoundError(key);
    return body;
  }

  private async *readChain(chain: readonly Segment[], offset: number, length: number): AsyncGenerator<Buffer> {
    const end = offset + length;
    for (const segment of chain) {
      const from = Math.max(offset, segment.start);
      const to = Math.min(end, segment.start + segment.size);
      if (from >= to) continue;
      const body = await this.getRange(segment.key, from - segment.start, to - from);
      for await (const piece of body as AsyncIterable<Buffer>) yield piece;
    }
  }

  private async *listKeys(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.ctx.send<{ Contents?: { Key?: string }[]; NextContinuationToken?: string }>(
        new ListObjectsV2Command({ Bucket: this.ctx.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const entry of page.Contents ?? []) if (entry.Key) yield entry.Key;
      token = page.NextContinuationToken;
    } while (token);
  }

  /** Deletes keys, a few at a time; a missing key is not an error. */
  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let index = 0; index < keys.length; index += 16) {
      await Promise.all(keys.slice(index, index + 16).map((key) => this.ctx.send(new DeleteObjectCommand({ Bucket: this.ctx.bucket, Key: key }))));
    }
  }

  /** Aborts multipart uploads under `prefix` that a writer left behind when its process died. */
  private async abortUploads(prefix: string): Promise<void> {
    const listing = await this.ctx.send<{ Uploads?: { Key?: string; UploadId?: string }[] }>(
      new ListMultipartUploadsCommand({ Bucket: this.ctx.bucket, Prefix: prefix }),
    );
    for (const upload of listing.Uploads ?? []) {
      await this.ctx.send(new AbortMultipartUploadCommand({ Bucket: this.ctx.bucket, Key: upload.Key, UploadId: upload.UploadId })).catch(() => undefined);
    }
  }
}
