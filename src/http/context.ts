import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { RegistryError } from '../errors.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobService } from '../registry/blobs.js';
import type { ManifestService } from '../registry/manifests.js';
import type { UploadService } from '../registry/uploads.js';
import type { StorageDriver } from '../storage/driver.js';

/** Everything a handler may use besides the request: services, store and configuration. */
export interface Services {
  readonly config: Config;
  readonly driver: StorageDriver;
  readonly store: MetadataStore;
  readonly blobs: BlobService;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
}

/** One request as handlers see it. `params` contains the route's named path parts. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly params: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly services: Services;
}

/** Sends a JSON body with an exact Content-Length. */
export function sendJson(ctx: RequestContext, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.byteLength, ...headers });
  ctx.res.end(data);
}

/** Sends a response without a body. */
export function sendEmpty(ctx: RequestContext, status: number, headers: Record<string, string | number> = {}): void {
  ctx.res.writeHead(status, { 'Content-Length': 0, ...headers });
  ctx.res.end();
}

/**
 * Reads a whole request body into memory, for small documents such as manifests. Throws
 * SIZE_INVALID with status 413 as soon as the declared or received size exceeds `limit` bytes.
 */
export async function readBody(ctx: RequestContext, limit: number, what: string): Promise<Buffer> {
  const declared = contentLength(ctx);
  if (declared !== undefined && declared > limit) throw tooLarge(what, `${declared} bytes`, limit);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of ctx.req as AsyncIterable<Buffer>) {
    size += part.byteLength;
    if (size > limit) throw tooLarge(what, `more than ${limit} bytes`, limit);
    parts.push(part);
  }
  return Buffer.concat(parts, size);
}

/** Parses the Content-Length header; throws SIZE_INVALID when it is not a non-negative integer. */
export function contentLength(ctx: RequestContext): number | undefined {
  const value = ctx.req.headers['content-length'];
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new RegistryError('SIZE_INVALID', `invalid Content-Length "${value.slice(0, 40)}": expected a non-negative integer`);
  }
  return Number(value);
}

function tooLarge(what: string, size: string, limit: number): RegistryError {
  return new RegistryError('SIZE_INVALID', `${what} of ${size} exceeds the limit of ${limit} bytes (setting limits.manifestMaxBytes)`, {
    status: 413,
    detail: { limit },
    headers: { Connection: 'close' },
  });
}
