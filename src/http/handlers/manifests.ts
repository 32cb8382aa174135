import { sendEmpty, readBody, type RequestContext } from '../context.js';
import { repositoryName } from './base.js';

/** `GET` and `HEAD /v2/<name>/manifests/<reference>`: the stored bytes, unchanged, with their media type. */
export async function getManifest(ctx: RequestContext): Promise<void> {
  const manifest = await ctx.services.manifests.get(repositoryName(ctx), ctx.params.reference ?? '');
  ctx.res.writeHead(200, {
    'Content-Type': manifest.mediaType,
    'Content-Length': manifest.content.byteLength,
    'Docker-Content-Digest': manifest.digest,
    ETag: `"${manifest.digest}"`,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : manifest.content);
}

/** `PUT /v2/<name>/manifests/<reference>`: stores a manifest under a tag or its digest (201). */
export async function putManifest(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const reference = ctx.params.reference ?? '';
  const body = await readBody(ctx, ctx.services.config.limits.manifestMaxBytes, 'manifest');
  const result = await ctx.services.manifests.put(repository, reference, ctx.req.headers['content-type'], body);
  const headers: Record<string, string> = {
    Location: `/v2/${repository}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
  };
  if (result.subject !== null) headers['OCI-Subject'] = result.subject;
  sendEmpty(ctx, 201, headers);
}

/** `DELETE /v2/<name>/manifests/<reference>`: by digest deletes the manifest and its tags, by tag only the tag (202). */
export async function deleteManifest(ctx: RequestContext): Promise<void> {
  await ctx.services.manifests.delete(repositoryName(ctx), ctx.params.reference ?? '');
  sendEmpty(ctx, 202);
}
