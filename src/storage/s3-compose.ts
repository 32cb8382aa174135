import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { S3Context } from './s3-segments.js';

/** A byte range of a source object: `start` first byte, `length` bytes. */
export interface SourceRange {
  readonly key: string;
  readonly start: number;
  readonly length: number;
}

/** Largest part UploadPartCopy and CopyObject accept. */
const maxCopyBytes = 5 * 1024 ** 3;
/** Size of the pieces a source larger than {@link maxCopyBytes} is copied in. */
const copyPieceBytes = 4 * 1024 ** 3;
/** Smallest part S3 accepts, except for the last part of an upload. */
const minPartBytes = 5 * 1024 * 1024;

/**
 * Writes the concatenation of `sources` to `destination`, which appears whole or not at all.
 * Ranges of at least one part size are copied inside the store (UploadPartCopy). Smaller ones
 * are read and sent again, joined into parts of at least the minimum part size, so memory stays
 * near two parts. A single source of at most 5 GiB is one CopyObject.
 */
export async function composeObject(ctx: S3Context, sources: readonly SourceRange[], destination: string): Promise<void> {
  const total = sources.reduce((sum, source) => sum + source.length, 0);
  const only = sources.length === 1 ? sources[0] : undefined;
  if (total === 0) {
    await ctx.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: destination, Body: Buffer.alloc(0), ContentLength: 0 }));
    return;
  }
  if (only && only.start === 0 && total <= maxCopyBytes && (await isWholeObject(ctx, only))) {
    await ctx.send(new CopyObjectCommand({ Bucket: ctx.bucket, Key: destination, CopySource: copySource(ctx, only.key) }));
    return;
  }
  const { UploadId: uploadId } = await ctx.send<{ UploadId?: string }>(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: destination }));
  try {
    const parts = await uploadParts(ctx, sources, destination, uploadId as string);
    await ctx.send(new CompleteMultipartUploadCommand({ Bucket: ctx.bucket, Key: destination, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    await ctx.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: destination, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

async function isWholeObject(ctx: S3Context, source: SourceRange): Promise<boolean> {
  const head = await ctx.send<{ ContentLength?: number }>(new HeadObjectCommand({ Bucket: ctx.bucket, Key: source.key }));
  return head.ContentLength === source.length;
}

async function uploadParts(ctx: S3Context, sources: readonly SourceRange[], destination: string, uploadId: string): Promise<CompletedPart[]> {
  const parts: CompletedPart[] = [];
  const target = Math.max(ctx.partSize, minPartBytes);
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  const flush = async (): Promise<void> => {
    const body = Buffer.concat(buffered, bufferedBytes);
    buffered = [];
    bufferedBytes = 0;
    const answer = await ctx.send<{ ETag?: string }>(
      new UploadPartCommand({ Bucket: ctx.bucket, Key: destination, UploadId: uploadId, PartNumber: parts.length + 1, Body: body, ContentLength: body.byteLength }),
    );
    parts.push({ PartNumber: parts.length + 1, ETag: answer.ETag });
  };

  for (const source of sources) {
    let position = source.start;
    const end = source.start + source.length;
    while (position < end) {
      const remaining = end - position;
      if (bufferedBytes > 0 || remaining < target) {
        // Join small pieces by reading them; a buffer is sent once it reaches a full part.
        const length = Math.min(remaining, target - bufferedBytes);
        buffered.push(await readRange(ctx, source.key, position, length));
        bufferedBytes += length;
        position += length;
        if (bufferedBytes >= target) await flush();
        continue;
      }
      const length = remaining <= maxCopyBytes ? remaining : copyPieceBytes;
      const answer = await ctx.send<{ CopyPartResult?: { ETag?: string } }>(
        new UploadPartCopyCommand({
          Bucket: ctx.bucket,
          Key: destination,
          UploadId: uploadId,
          PartNumber: parts.length + 1,
          CopySource: copySource(ctx, source.key),
          CopySourceRange: `bytes=${position}-${position + length - 1}`,
        }),
      );
      parts.push({ PartNumber: parts.length + 1, ETag: answer.CopyPartResult?.ETag });
      position += length;
    }
  }
  if (bufferedBytes > 0) await flush();
  return parts;
}

/** Reads `length` bytes of `key` from `start` into memory; callers keep `length` to about one part. */
async function readRange(ctx: S3Context, key: string, start: number, length: number): Promise<Buffer> {
  const answer = await ctx.send<{ Body?: Readable }>(
    new GetObjectCommand({ Bucket: ctx.bucket, Key: key, Range: `bytes=${start}-${start + length - 1}` }),
  );
  const pieces: Buffer[] = [];
  for await (const piece of answer.Body as AsyncIterable<Buffer>) pieces.push(piece);
  const data = Buffer.concat(pieces);
  if (data.byteLength !== length) throw new Error(`object ${key} returned ${data.byteLength} bytes for a range of ${length} at ${start}`);
  return data;
}

/** Returns the `CopySource` value of a key: bucket and key, URL-encoded. */
function copySource(ctx: S3Context, key: string): string {
  return `${ctx.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
