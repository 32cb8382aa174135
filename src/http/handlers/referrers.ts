import { parseDigest } from '../../oci/digest.js';
import { mediaTypes } from '../../oci/manifest.js';
import type { RequestContext } from '../context.js';
import { repositoryName } from './base.js';

/**
 * `GET /v2/<name>/referrers/<digest>`: an OCI image index of the manifests whose `subject` is
 * the digest. `artifactType` filters it and is then named in `OCI-Filters-Applied`.
 */
export async function getReferrers(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const subject = parseDigest(ctx.params.digest ?? '');
  const artifactType = ctx.query.get('artifactType') ?? undefined;
  const referrers = await ctx.services.store.listReferrers(repository, subject.value, artifactType);
  const index = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: referrers.map((referrer) => ({
      mediaType: referrer.mediaType,
      digest: referrer.digest,
      size: referrer.size,
      ...(referrer.artifactType !== null ? { artifactType: referrer.artifactType } : {}),
      ...(referrer.annotations !== null ? { annotations: referrer.annotations } : {}),
    })),
  };
  const body = Buffer.from(JSON.stringify(index));
  const headers: Record<string, string | number> = { 'Content-Type': mediaTypes.ociIndex, 'Content-Length': body.byteLength };
  if (artifactType !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  ctx.res.writeHead(200, headers);
  ctx.res.end(body);
}
