import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { StorageWriter } from './driver.js';
import type { S3Context } from './s3-segments.js';

/**
 * Writes one segment object, collecting bytes up to the part size. A segment that stays smaller
 * is stored with one PutObject at close. A larger one becomes a multipart upload whose parts go
 * out while more bytes arrive, one part in flight, so memory stays near two parts. Nothing is
 * visible before `close` or `commit`, and `cancel` aborts the multipart upload.
 */
export class S3SegmentWriter implements StorageWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private uploadId: string | undefined;
  private readonly parts: CompletedPart[] = [];
  private inFlight: Promise<void> | undefined;
  private failure: unknown;
  private finished = false;
  size: number;

  /**
   * @param ctx the store
   * @param key key of the segment object to create
   * @param offset size of the object before this segment
   * @param writeEmpty store the segment even when no byte is written (marks an empty object)
   */
  constructor(
    private readonly ctx: S3Context,
    private readonly key: string,
    offset: number,
    private readonly writeEmpty: boolean,
  ) {
    this.size = offset;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.checkOpen();
    this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.pendingBytes += chunk.byteLength;
    this.size += chunk.byteLength;
    if (this.pendingBytes >= this.ctx.partSize) {
      // Back-pressure: wait for the part in flight before sending the next one.
      await this.settle();
      this.startPart(this.takePending(this.ctx.partSize));
    }
  }

  async commit(): Promise<void> {
    await this.close();
  }

  /** Closing also commits, because S3 stores an object durably before it responds. */
  async close(): Promise<void> {
    this.checkOpen();
    this.finished = true;
    await this.settle();
    if (this.uploadId === undefined) {
      if (this.pendingBytes === 0 && !this.writeEmpty) return;
      const body = this.takePending(this.pendingBytes);
      await this.ctx.send(new PutObjectCommand({ Bucket: this.ctx.bucket, Key: this.key, Body: body, ContentLength: body.byteLength }));
      return;
    }
    try {
      if (this.pendingBytes > 0) {
        this.startPart(this.takePending(this.pendingBytes));
        await this.settle();
      }
      await this.ctx.send(
        new CompleteMultipartUploadCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }),
      );
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  async cancel(): Promise<void> {
    this.finished = true;
    this.pending = [];
    this.pendingBytes = 0;
    await this.inFlight?.catch(() => undefined);
    await this.abort();
  }

  private checkOpen(): void {
    if (this.finished) throw new Error(`writer of ${this.key} is already closed`);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for the part in flight and raises its failure, if any. */
  private async settle(): Promise<void> {
    await this.inFlight;
    this.inFlight = undefined;
    if (this.failure !== undefined) throw this.failure;
  }

  private startPart(body: Buffer): void {
    const partNumber = this.parts.length + 1;
    this.inFlight = (async () => {
      this.uploadId ??= (
        await this.ctx.send<{ UploadId?: string }>(new CreateMultipartUploadCommand({ Bucket: this.ctx.bucket, Key: this.key }))
      ).UploadId;
      const answer = await this.ctx.send<{ ETag?: string }>(
        new UploadPartCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body, ContentLength: body.byteLength }),
      );
      this.parts.push({ PartNumber: partNumber, ETag: answer.ETag });
    })().catch((error: unknown) => {
      this.failure = error;
    });
  }

  /** Removes and returns the first `bytes` pending bytes as one buffer. */
  private takePending(bytes: number): Buffer {
    const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    const part = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.pending = rest.byteLength > 0 ? [rest] : [];
    this.pendingBytes = rest.byteLength;
    return part;
  }

  private async abort(): Promise<void> {
    if (this.uploadId === undefined) return;
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    await this.ctx.send(new AbortMultipartUploadCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: uploadId })).catch(() => undefined);
  }
}
