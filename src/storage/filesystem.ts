import { mkdir, open, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { PathNotFoundError } from '../errors.js';
import type { StorageDriver, StorageWriter } from './driver.js';

/** Size of each of the two buffers `sendTo` reads into. */
const readBufferBytes = 1024 * 1024;

/** Bytes a writer collects before it issues one write system call; this bounds its memory too. */
const writeBufferBytes = 1024 * 1024;
/**
 * Bytes written between two background flushes to disk. Flushing while data still arrives
 * overlaps disk writes with receiving, so the final fsync of a large blob has little left to do.
 */
const backgroundSyncBytes = 8 * 1024 * 1024;

/**
 * Stores objects as files under a root directory. `move` is a rename followed by an fsync of the
 * destination directory, so a completed object is durable and appears atomically.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly root: string;
  /**
   * Errors of background flushes that finished after their writer closed, by file. Linux reports
   * a writeback error to one fsync only, so the next `commit` of the file must raise it instead.
   */
  private readonly syncFailures = new Map<string, unknown>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Creates the root directory when it is missing and returns a driver on it. */
  static async create(root: string): Promise<FilesystemDriver> {
    const driver = new FilesystemDriver(root);
    await mkdir(driver.root, { recursive: true });
    await driver.ping();
    return driver;
  }

  async stat(path: string): Promise<{ size: number }> {
    try {
      const info = await stat(this.fullPath(path));
      if (!info.isFile()) throw new PathNotFoundError(path);
      return { size: info.size };
    } catch (error) {
      throw mapMissing(error, path);
    }
  }

  async read(path: string, range?: { offset: number; length: number }): Promise<Readable> {
    const handle = await open(this.fullPath(path), 'r').catch((error: unknown) => {
      throw mapMissing(error, path);
    });
    if (range && range.length === 0) {
      await handle.close();
      return Readable.from([]);
    }
    const options = range ? { start: range.offset, end: range.offset + range.length - 1 } : {};
    // The stream owns the handle and closes it when it ends, fails or is destroyed.
    return handle.createReadStream({ highWaterMark: 1024 * 1024, ...options });
  }

  /**
   * Sends the file through two buffers that are reused for the whole transfer: one is read into
   * while the other is written. A new buffer per read, as a stream allocates, costs the kernel page
   * faults and zeroing for every mebibyte sent.
   */
  async sendTo(path: string, range: { offset: number; length: number } | undefined, destination: Writable): Promise<void> {
    const handle = await open(this.fullPath(path), 'r').catch((error: unknown) => {
      throw mapMissing(error, path);
    });
    try {
      const start = range?.offset ?? 0;
      const end = range ? start + range.length : (await handle.stat()).size;
      const buffers = [Buffer.allocUnsafe(readBufferBytes), Buffer.allocUnsafe(readBufferBytes)];
      let written: Promise<void> = Promise.resolve();
      for (let position = start, turn = 0; position < end; turn ^= 1) {
        const buffer = buffers[turn] as Buffer;
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) throw new Error(`${path} ended at byte ${position}, before byte ${end}`);
        // The other buffer is free once its write has finished.
        await written;
        written = writeChunk(destination, buffer.subarray(0, bytesRead));
        // The write may fail while the next read runs, and is awaited after it.
        written.catch(() => undefined);
        position += bytesRead;
      }
      await written;
    } finally {
      await handle.close();
    }
  }

  async writer(path: string, offset: number): Promise<StorageWriter> {
    const file = this.fullPath(path);
    await mkdir(dirname(file), { recursive: true });
    let handle: FileHandle;
    if (offset === 0) {
      handle = await open(file, 'w');
    } else {
      handle = await open(file, 'r+').catch((error: unknown) => {
        throw mapMissing(error, path);
      });
      const { size } = await handle.stat();
      if (size < offset) {
        await handle.close();
        throw new PathNotFoundError(`${path} (contains ${size} bytes, expected at least ${offset})`);
      }
      if (size > offset) await handle.truncate(offset);
    }
    return new FileWriter(handle, offset, file, this.syncFailures);
  }

  async move(source: string, destination: string): Promise<void> {
    const target = this.fullPath(destination);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(this.fullPath(source), target);
    } catch (error) {
      throw mapMissing(error, source);
    }
    await syncDirectory(dirname(target));
  }

  async delete(path: string): Promise<void> {
    this.syncFailures.delete(this.fullPath(path));
    await rm(this.fullPath(path), { recursive: true, force: true });
  }

  async list(prefix: string): Promise<string[]> {
    try {
      return (await readdir(this.fullPath(prefix))).sort();
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  }

  /** Checks that the root is still a writable directory. It never recreates a root that went away. */
  async ping(): Promise<void> {
    const info = await stat(this.root);
    if (!info.isDirectory()) throw new Error(`storage root ${this.root} is not a directory`);
    const probe = join(this.root, '.ping');
    await writeFile(probe, String(Date.now()));
    await rm(probe, { force: true });
  }

  /** Resolves a driver path under the root, rejecting anything that would escape it. */
  private fullPath(path: string): string {
    if (path.split('/').some((part) => part === '..' || part === '.') || path.startsWith('/') || path.includes('\0')) {
      throw new Error(`invalid storage path: ${path}`);
    }
    const full = resolve(this.root, ...path.split('/'));
    if (full !== this.root && !full.startsWith(this.root + sep)) throw new Error(`invalid storage path: ${path}`);
    return full;
  }
}

/** Appends to an open file, collecting small chunks into larger writes. */
class FileWriter implements StorageWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private position: number;
  private readonly startSize: number;
  private closed = false;
  private released = false;
  private unsyncedBytes = 0;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly handle: FileHandle,
    offset: number,
    private readonly file: string,
    private readonly syncFailures: Map<string, unknown>,
  ) {
    this.position = offset;
    this.startSize = offset;
  }

  get size(): number {
    return this.position + this.pendingBytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('write after the writer was closed');
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= writeBufferBytes) await this.flush();
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.syncing;
    const failure = this.syncFailures.get(this.file);
    if (failure !== undefined) {
      this.syncFailures.delete(this.file);
      await this.release();
      throw failure;
    }
    await this.handle.datasync();
    await this.release();
  }

  /**
   * Writes what is buffered and starts flushing it to disk, but returns without waiting for the
   * disk: the handle closes when that flush ends, and a failure is kept for the next `commit`.
   */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.unsyncedBytes > 0 && !this.syncing) this.startBackgroundSync();
    const syncing = this.syncing;
    if (!syncing) {
      await this.release();
      return;
    }
    void syncing.then(() => this.release()).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    if (this.closed) return;
    this.pending = [];
    this.pendingBytes = 0;
    await this.syncing;
    try {
      await this.handle.truncate(this.startSize);
    } finally {
      await this.release();
    }
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buffers = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let written = 0;
    while (written < bytes) {
      const result = await this.handle.writev(written === 0 ? buffers : remainder(buffers, written), this.position + written);
      written += result.bytesWritten;
    }
    this.position += bytes;
    this.unsyncedBytes += bytes;
    if (this.unsyncedBytes >= backgroundSyncBytes && !this.syncing) this.startBackgroundSync();
  }

  /** Starts an fdatasync that runs while more data arrives; a failure is kept for the file's next `commit`. */
  private startBackgroundSync(): void {
    this.unsyncedBytes = 0;
    this.syncing = this.handle
      .datasync()
      .catch((error: unknown) => {
        this.syncFailures.set(this.file, error);
      })
      .finally(() => {
        this.syncing = undefined;
      });
  }

  private async release(): Promise<void> {
    this.closed = true;
    if (this.released) return;
    this.released = true;
    await this.handle.close();
  }
}

/** Returns the buffers that remain after the first `skip` bytes, for a short writev. */
function remainder(buffers: Uint8Array[], skip: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let left = skip;
  for (const buffer of buffers) {
    if (left >= buffer.byteLength) {
      left -= buffer.byteLength;
      continue;
    }
    rest.push(left > 0 ? buffer.subarray(left) : buffer);
    left = 0;
  }
  return rest;
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function mapMissing(error: unknown, path: string): unknown {
  return isMissing(error) ? new PathNotFoundError(path) : error;
}

/**
 * Writes `chunk` to `destination` and resolves when the write has finished, so the buffer may be
 * reused. Rejects with ERR_STREAM_PREMATURE_CLOSE when the destination closes first.
 */
function writeChunk(destination: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = (): void => reject(Object.assign(new Error('the destination closed before the write finished'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    if (destination.destroyed) {
      closed();
      return;
    }
    destination.once('close', closed);
    destination.write(chunk, (error) => {
      destination.off('close', closed);
      if (error) reject(error);
      else resolve();
    });
  });
}
