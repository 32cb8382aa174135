import { RegistryError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import type { ByteRange } from '../../registry/blobs.js';
import { sendEmpty, type RequestContext } from '../context.js';
import { repositoryName } from './base.js';

/**
 * `GET` and `HEAD /v2/<name>/blobs/<digest>`: the blob, whole or one byte range (206). With
 * redirects enabled, a GET of the whole blob gets a 307 to a presigned URL of the object store.
 * HEAD requests and ranges are always served here.
 */
export async function getBlob(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const digest = parseDigest(ctx.params.digest ?? '');
  const size = await ctx.services.blobs.stat(repository, digest);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest.value,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest.value}"`,
    'Cache-Control': 'max-age=31536000',
  };
  const rangeHeader = ctx.req.headers.range;
  // A range in another unit than bytes is ignored, as RFC 9110 allows, and the whole blob is sent.
  const range = rangeHeader === undefined || !/^\s*bytes=/i.test(rangeHeader) ? undefined : parseRange(rangeHeader, size);
  if (range) {
    headers['Content-Range'] = `bytes ${range.offset}-${range.offset + range.length - 1}/${size}`;
  }
  const length = range ? range.length : size;
  if (ctx.req.method === 'HEAD' || length === 0) {
    sendEmpty(ctx, range ? 206 : 200, { ...headers, 'Content-Length': length });
    return;
  }
  const location = range ? undefined : await ctx.services.blobs.redirectUrl(digest);
  if (location !== undefined) {
    sendEmpty(ctx, 307, { Location: location, 'Docker-Content-Digest': digest.value });
    return;
  }
  // Headers go out with the first body bytes, so a blob missing from storage still gets a 404,
  // without the headers of the blob it could not send.
  const sent = { ...headers, 'Content-Length': length };
  ctx.res.statusCode = range ? 206 : 200;
  for (const [name, value] of Object.entries(sent)) ctx.res.setHeader(name, value);
  try {
    await ctx.services.blobs.send(repository, digest, range, ctx.res);
  } catch (error) {
    if (!ctx.res.headersSent) for (const name of Object.keys(sent)) ctx.res.removeHeader(name);
    throw error;
  }
  ctx.res.end();
}

/** `DELETE /v2/<name>/blobs/<digest>`: unlinks the blob from the repository (202). */
export async function deleteBlob(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const digest = parseDigest(ctx.params.digest ?? '');
  await ctx.services.blobs.unlink(repository, digest);
  sendEmpty(ctx, 202, { 'Docker-Content-Digest': digest.value });
}

/**
 * Parses a single `Range: bytes=...` header against a blob of `size` bytes: `N-M`, `N-` or `-N`.
 * Throws RANGE_INVALID (416, with `Content-Range: bytes *\/SIZE`) when it cannot be satisfied
 * or is malformed; multiple ranges are not supported and are rejected the same way.
 */
export function parseRange(header: string, size: number): ByteRange {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = (reason: string): RegistryError =>
    new RegistryError('RANGE_INVALID', `range "${header.slice(0, 100)}" ${reason} for a blob of ${size} bytes`, {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  if (!match || (match[1] === '' && match[2] === '')) throw unsatisfiable('is not a single range of the form bytes=N-M, bytes=N- or bytes=-N');
  const [first, last] = [match[1] as string, match[2] as string];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable('selects no bytes');
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || (last !== '' && Number(last) < start)) throw unsatisfiable('is not satisfiable');
  return { offset: start, length: end - start + 1 };
}
