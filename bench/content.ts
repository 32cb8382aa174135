/**
 * Fresh blob content for pushes. Every blob is a prefix of one cached random file followed
 * by a random nonce, so each push sends bytes that no registry has seen. The sha256 of each
 * prefix is computed once per run, and the digest of each blob is finished from a copy of
 * the prefix's hash state (`Hash.copy()`).
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** Length of the nonce that ends every blob, in bytes (32 hex characters). */
export const NONCE_BYTES = 32;

const WRITE_CHUNK_BYTES = 16 * 1024 * 1024;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** A blob with never-seen content and a precomputed digest. */
export interface FreshBlob {
  size: number;
  /** `sha256:HEX` of the whole blob. */
  digest: string;
  /** Streams the bytes from `start` (inclusive) to `end` (exclusive), by default the whole blob. */
  stream(start?: number, end?: number): Readable;
}

/** A cached random file and the hash states of the prefixes that the blobs of a run use. */
export class RandomContent {
  private constructor(
    readonly path: string,
    private readonly prefixStates: ReadonlyMap<number, Hash>,
  ) {}

  /**
   * Creates the random file `random-<fileSize>.bin` in `cacheDir` unless it exists with that
   * size or `blobSizes` is empty. Then hashes the file once and keeps the hash state of the
   * prefix of each blob size, which must be more than NONCE_BYTES and at most
   * `fileSize + NONCE_BYTES`.
   */
  static async prepare(cacheDir: string, fileSize: number, blobSizes: readonly number[]): Promise<RandomContent> {
    const path = join(cacheDir, `random-${fileSize}.bin`);
    if (blobSizes.length === 0) {
      return new RandomContent(path, new Map());
    }
    await ensureRandomFile(path, fileSize);

    const prefixLengths = [...new Set(blobSizes.map((size) => size - NONCE_BYTES))].sort((a, b) => a - b);
    for (const length of prefixLengths) {
      if (length <= 0 || length > fileSize) {
        throw new Error(`blob size ${length + NONCE_BYTES} does not fit the random file of ${fileSize} bytes`);
      }
    }
    return new RandomContent(path, await hashPrefixes(path, prefixLengths));
  }

  /** Returns a blob of `size` bytes (one of the sizes given to `prepare`) that ends in a new random nonce. */
  freshBlob(size: number): FreshBlob {
    const prefixLength = size - NONCE_BYTES;
    const state = this.prefixStates.get(prefixLength);
    if (state === undefined) {
      throw new Error(`no precomputed hash for a blob of ${size} bytes: pass the size to RandomContent.prepare`);
    }
    const nonce = Buffer.from(randomBytes(NONCE_BYTES / 2).toString('hex'), 'ascii');
    const digest = `sha256:${state.copy().update(nonce).digest('hex')}`;
    const path = this.path;
    return {
      size,
      digest,
      stream(start = 0, end = size): Readable {
        return Readable.from(blobBytes(path, prefixLength, nonce, start, end), { objectMode: false });
      },
    };
  }
}

/** Yields bytes [start, end) of the file's first `prefixLength` bytes followed by `nonce`. */
async function* blobBytes(path: string, prefixLength: number, nonce: Buffer, start: number, end: number): AsyncGenerator<Buffer> {
  if (start < prefixLength) {
    const fileEnd = Math.min(end, prefixLength);
    yield* createReadStream(path, { start, end: fileEnd - 1, highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>;
  }
  if (end > prefixLength) {
    yield nonce.subarray(Math.max(start, prefixLength) - prefixLength, end - prefixLength);
  }
}

async function ensureRandomFile(path: string, size: number): Promise<void> {
  try {
    if ((await stat(path)).size === size) {
      return;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
  await mkdir(join(path, '..'), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w');
  try {
    const buffer = Buffer.alloc(WRITE_CHUNK_BYTES);
    for (let written = 0; written < size; written += WRITE_CHUNK_BYTES) {
      const length = Math.min(WRITE_CHUNK_BYTES, size - written);
      randomFillSync(buffer, 0, length);
      await file.write(buffer, 0, length);
    }
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  await rename(temporary, path);
}

/** Reads the file once and returns a copy of the sha256 state after each of `lengths` (sorted) bytes. */
async function hashPrefixes(path: string, lengths: readonly number[]): Promise<Map<number, Hash>> {
  const states = new Map<number, Hash>();
  const last = lengths[lengths.length - 1];
  if (last === undefined) {
    return states;
  }
  const hash = createHash('sha256');
  let position = 0;
  let next = 0;
  for await (const chunk of createReadStream(path, { end: last - 1, highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    let offset = 0;
    // A chunk may contain several prefix ends: hash up to each one and keep a copy there.
    while (next < lengths.length && (lengths[next] as number) <= position + chunk.length) {
      const boundary = (lengths[next] as number) - position;
      hash.update(chunk.subarray(offset, boundary));
      offset = boundary;
      states.set(lengths[next] as number, hash.copy());
      next += 1;
    }
    hash.update(chunk.subarray(offset));
    position += chunk.length;
  }
  if (states.size !== lengths.length) {
    throw new Error(`${path} is shorter than ${last} bytes: delete it so that the next run writes it again`);
  }
  return states;
}
