import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { classifyS3Error } from './s3-client.js';

/**
 * Context the S3 driver's helpers share: the client, the bucket and the multipart part size.
 * `send` runs one command and maps a store that cannot be reached to BackendUnavailableError.
 */
export interface S3Context {
  readonly client: S3Client;
  readonly bucket: string;
  readonly partSize: number;
  send<T = unknown>(command: object): Promise<T>;
}

/** Builds an {@link S3Context} on `client`. */
export function s3Context(client: S3Client, bucket: string, partSize: number): S3Context {
  return {
    client,
    bucket,
    partSize,
    async send<T>(command: object): Promise<T> {
      try {
        return (await client.send(command as never)) as T;
      } catch (error) {
        throw classifyS3Error(error, bucket);
      }
    },
  };
}

/**
 * An appendable object is stored as segments: one S3 object per writer, under `<key>/`, named
 * `.part.<start offset, 16 digits>.<random>`. S3 cannot append, and a multipart upload's parts
 * cannot be read before it completes, so each writer's bytes become their own readable object.
 */
export interface Segment {
  readonly key: string;
  readonly start: number;
  readonly size: number;
}

/** Name prefix of segment objects; `list` leaves these out. */
export const segmentMarker = '.part.';

const segmentPattern = /\/\.part\.(\d{16})\.[0-9a-f]{8}$/;

/** Returns a new segment key of the object at `objectKey` starting at byte `start`. */
export function segmentKey(objectKey: string, start: number): string {
  return `${objectKey}/${segmentMarker}${String(start).padStart(16, '0')}.${randomBytes(4).toString('hex')}`;
}

/** Lists every segment of the object at `objectKey`, sorted by start offset. */
export async function listSegments(ctx: S3Context, objectKey: string): Promise<Segment[]> {
  const segments: Segment[] = [];
  let token: string | undefined;
  do {
    const page = await ctx.send<{ Contents?: { Key?: string; Size?: number }[]; NextContinuationToken?: string }>(
      new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: `${objectKey}/${segmentMarker}`, ContinuationToken: token }),
    );
    for (const entry of page.Contents ?? []) {
      const match = entry.Key ? segmentPattern.exec(entry.Key) : null;
      if (match) segments.push({ key: entry.Key as string, start: Number(match[1]), size: entry.Size ?? 0 });
    }
    token = page.NextContinuationToken;
  } while (token);
  return segments.sort((a, b) => a.start - b.start || a.size - b.size);
}

/**
 * Picks the segments that make up the object, from offset 0 on. Segments left by an interrupted
 * write can share a start offset with a valid one. With a `target` size, the chain that ends
 * exactly there wins, otherwise the longest. Returns the chain and the segments outside it.
 */
export function resolveChain(segments: readonly Segment[], target?: number): { chain: Segment[]; stale: Segment[] } {
  const chain: Segment[] = [];
  let position = 0;
  for (;;) {
    if (target !== undefined && position >= target) break;
    const candidates = segments.filter((segment) => segment.start === position && segment.size > 0);
    const picked = target === undefined ? longest(candidates) : pickFor(candidates, target);
    if (!picked) break;
    chain.push(picked);
    position = picked.start + picked.size;
  }
  const used = new Set(chain);
  // An empty segment only marks an empty object; once there are bytes it is stale.
  const stale = segments.filter((segment) => !used.has(segment) && (segment.size > 0 || chain.length > 0));
  return { chain, stale };
}

function pickFor(candidates: readonly Segment[], target: number): Segment | undefined {
  const exact = candidates.find((segment) => segment.start + segment.size === target);
  if (exact) return exact;
  return longest(candidates.filter((segment) => segment.start + segment.size <= target)) ?? longest(candidates);
}

function longest(candidates: readonly Segment[]): Segment | undefined {
  return candidates.reduce<Segment | undefined>((best, segment) => (best && best.size >= segment.size ? best : segment), undefined);
}

/** Total size of a chain. */
export function chainSize(chain: readonly Segment[]): number {
  const last = chain[chain.length - 1];
  return last ? last.start + last.size : 0;
}
