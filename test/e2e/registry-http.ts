import { MEDIA_TYPES } from '../helpers/images.js';

/** Accept header listing the OCI and Docker manifest types, as registry clients send it. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.imageManifest,
  MEDIA_TYPES.imageIndex,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Sends `HEAD /v2/REPOSITORY/manifests/REFERENCE` and returns the response. */
export async function headManifest(baseUrl: string, repository: string, reference: string): Promise<Response> {
  const response = await fetch(`${baseUrl}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(30_000),
  });
  await response.arrayBuffer();
  return response;
}

/** Sends `HEAD /v2/REPOSITORY/blobs/DIGEST` and returns the response. */
export async function headBlob(baseUrl: string, repository: string, digest: string): Promise<Response> {
  const response = await fetch(`${baseUrl}/v2/${repository}/blobs/${digest}`, {
    method: 'HEAD',
    signal: AbortSignal.timeout(30_000),
  });
  await response.arrayBuffer();
  return response;
}

/** Sends `GET` to a path of the registry and returns the response with its body read as text. */
export async function getText(baseUrl: string, path: string): Promise<{ response: Response; body: string }> {
  const response = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(30_000) });
  return { response, body: await response.text() };
}
