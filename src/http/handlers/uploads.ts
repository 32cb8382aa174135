import { RegistryError } from '../../errors.js';
import { validateName } from '../../oci/names.js';
import { progressRange, type Chunk, type ChunkRange } from '../../registry/uploads.js';
import type { UploadRecord } from '../../metadata/store.js';
import { contentLength, sendEmpty, type RequestContext } from '../context.js';
import { repositoryName } from './base.js';

/**
 * `POST /v2/<name>/blobs/uploads/`: with `mount` (and optionally `from`) links a stored blob
 * into the repository, from `from` or else from any repository. With `digest` it uploads a whole
 * blob in one request. Otherwise, or when there is nothing to mount, it starts an upload session.
 */
export async function startUpload(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const { blobs, uploads } = ctx.services;
  const mount = ctx.query.get('mount');
  if (mount !== null) {
    const from = ctx.query.get('from') ?? undefined;
    if (from !== undefined) validateName(from);
    const mounted = await blobs.mount(repository, mount, from);
    if (mounted) {
      sendEmpty(ctx, 201, { Location: `/v2/${repository}/blobs/${mounted.digest.value}`, 'Docker-Content-Digest': mounted.digest.value });
      return;
    }
  }
  const digest = ctx.query.get('digest');
  const upload = await uploads.start(repository);
  if (digest !== null && mount === null) {
    const blob = await uploads.complete(repository, upload.id, digest, chunkOf(ctx));
    sendEmpty(ctx, 201, { Location: `/v2/${repository}/blobs/${blob.digest.value}`, 'Docker-Content-Digest': blob.digest.value });
    return;
  }
  sendEmpty(ctx, 202, sessionHeaders(upload));
}

/** `GET /v2/<name>/blobs/uploads/<uuid>`: progress of a session (204 with `Range`). */
export async function getUploadStatus(ctx: RequestContext): Promise<void> {
  const upload = await ctx.services.uploads.get(repositoryName(ctx), ctx.params.uuid ?? '');
  sendEmpty(ctx, 204, sessionHeaders(upload));
}

/** `PATCH /v2/<name>/blobs/uploads/<uuid>`: appends a chunk, streamed, in order when `Content-Range` is given. */
export async function patchUpload(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const upload = await ctx.services.uploads.append(repository, ctx.params.uuid ?? '', chunkOf(ctx));
  sendEmpty(ctx, 202, sessionHeaders(upload));
}

/** `PUT /v2/<name>/blobs/uploads/<uuid>?digest=`: appends an optional last chunk and completes the blob (201). */
export async function completeUpload(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const digest = ctx.query.get('digest');
  if (digest === null || digest === '') {
    throw new RegistryError('DIGEST_INVALID', 'missing digest query parameter: complete an upload with PUT ...?digest=<algorithm>:<hex>');
  }
  const chunk = hasBody(ctx) ? chunkOf(ctx) : undefined;
  const blob = await ctx.services.uploads.complete(repository, ctx.params.uuid ?? '', digest, chunk);
  sendEmpty(ctx, 201, { Location: `/v2/${repository}/blobs/${blob.digest.value}`, 'Docker-Content-Digest': blob.digest.value });
}

/** `DELETE /v2/<name>/blobs/uploads/<uuid>`: cancels a session and deletes its bytes (204). */
export async function cancelUpload(ctx: RequestContext): Promise<void> {
  await ctx.services.uploads.cancel(repositoryName(ctx), ctx.params.uuid ?? '');
  sendEmpty(ctx, 204);
}

function sessionHeaders(upload: UploadRecord): Record<string, string> {
  return {
    Location: `/v2/${upload.repository}/blobs/uploads/${upload.id}`,
    'Docker-Upload-UUID': upload.id,
    Range: progressRange(upload.size),
  };
}

function chunkOf(ctx: RequestContext): Chunk {
  return { body: ctx.req, range: contentRange(ctx), contentLength: contentLength(ctx) };
}

function hasBody(ctx: RequestContext): boolean {
  const length = contentLength(ctx);
  return (length !== undefined && length > 0) || ctx.req.headers['transfer-encoding'] !== undefined;
}

/** Parses `Content-Range: <start>-<end>` of a chunk (a `bytes ` or `bytes=` prefix is accepted). */
function contentRange(ctx: RequestContext): ChunkRange | undefined {
  const header = ctx.req.headers['content-range'];
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (!match || end < start) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `invalid Content-Range "${header.slice(0, 100)}": expected <first byte>-<last byte>, for example 0-1048575`);
  }
  return { start, end };
}
