import type { Readable, Writable } from 'node:stream';

/**
 * The storage driver interface: a small, path-based, streaming store of byte objects.
 *
 * Paths are relative, slash-separated and never contain `..`; the registry layer decides the
 * layout. Every driver passes the shared suite in `test/storage-driver-suite.ts`.
 */
export interface StorageDriver {
  /** Driver name for logs and health reports, for example `filesystem`. */
  readonly name: string;

  /** Returns the size in bytes of the object at `path`; throws PathNotFoundError when it is missing. */
  stat(path: string): Promise<{ size: number }>;

  /**
   * Streams the object at `path`, or `length` bytes of it starting at `offset`. Throws
   * PathNotFoundError when it is missing. The range must lie inside the object.
   */
  read(path: string, range?: { offset: number; length: number }): Promise<Readable>;

  /**
   * Opens a writer that appends to the object at `path`, keeping its first `offset` bytes and
   * discarding any bytes after them (left by an interrupted write). The object is created when
   * `offset` is 0 and it does not exist; a shorter existing object throws PathNotFoundError.
   */
  writer(path: string, offset: number): Promise<StorageWriter>;

  /**
   * Moves `source` to `destination` atomically and durably, replacing the destination. Readers
   * see either the old object or the whole new one, never a partial one.
   */
  move(source: string, destination: string): Promise<void>;

  /** Deletes the object or the whole subtree at `path`; a missing path is not an error. */
  delete(path: string): Promise<void>;

  /** Lists the names of the direct children of `prefix`; an empty list when there are none. */
  list(prefix: string): Promise<string[]>;

  /** Checks that the backing store is reachable and writable; throws when it is not. */
  ping(): Promise<void>;

  /**
   * Optional: writes the object at `path`, or `length` bytes of it from `offset`, to
   * `destination` without ending it, and resolves once `destination` has accepted every byte.
   * Drivers that can reuse their read buffers for this implement it; callers fall back to `read`.
   * Throws PathNotFoundError when the object is missing, before anything is written.
   */
  sendTo?(path: string, range: { offset: number; length: number } | undefined, destination: Writable): Promise<void>;

  /**
   * Optional: returns a URL from which a client may GET the whole object at `path` directly,
   * valid for `expiresSeconds`. Drivers of stores without such URLs leave it out.
   */
  presignedUrl?(path: string, expiresSeconds: number): Promise<string>;
}

/** An open append-only writer returned by {@link StorageDriver.writer}. */
export interface StorageWriter {
  /** Bytes in the object so far, including those written through this writer. */
  readonly size: number;

  /** Appends `chunk`. The promise resolves when the writer can take more data. */
  write(chunk: Uint8Array): Promise<void>;

  /**
   * Flushes everything written, and all earlier content of the object, to durable storage and
   * closes the writer.
   */
  commit(): Promise<void>;

  /**
   * Hands everything written to the store and closes the writer, without waiting for it to be
   * durable: a later reader sees the bytes, but a crash of the machine may lose them.
   */
  close(): Promise<void>;

  /** Closes the writer and truncates the object back to the size it had when it was opened. */
  cancel(): Promise<void>;
}
