import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

/** sha256 digest string of `data`. */
export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Asserts that a response is an OCI error with `status` and `code`, and that its message is a
 * non-empty sentence. Returns the first error entry for further checks.
 */
export async function expectError(response: Response, status: number, code: string): Promise<{ code: string; message: string; detail?: unknown }> {
  const text = await response.text();
  assert.equal(response.status, status, `expected HTTP ${status} ${code}, got ${response.status}: ${text}`);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as { errors: { code: string; message: string; detail?: unknown }[] };
  assert.ok(Array.isArray(body.errors), `errors array missing in ${text}`);
  const first = body.errors[0];
  assert.ok(first, `empty errors array in ${text}`);
  assert.equal(first.code, code, `expected code ${code} in ${text}`);
  assert.ok(first.message.length > 10, `message too short in ${text}`);
  return first;
}

/** A small client of one registry, for API tests. */
export class RegistryClient {
  constructor(readonly url: string) {}

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.url}${path}`, { redirect: 'manual', ...init });
  }

  /** Uploads a blob with POST then PUT, and asserts 201. Returns its digest. */
  async pushBlob(repository: string, data: Uint8Array): Promise<string> {
    const digest = sha256(data);
    const start = await this.fetch(`/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202, await start.text());
    const location = start.headers.get('location');
    assert.ok(location);
    const done = await this.fetch(`${location}?digest=${digest}`, {
      method: 'PUT',
      body: data,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(done.status, 201, await done.text());
    return digest;
  }

  /** Stores a manifest under a tag or digest and asserts 201. Returns the response. */
  async pushManifest(repository: string, reference: string, manifest: unknown, mediaType: string): Promise<Response> {
    const body = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    const response = await this.fetch(`/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': mediaType },
    });
    assert.equal(response.status, 201, await response.clone().text());
    return response;
  }

  /**
   * Pushes a small image (random config and layer blobs plus an OCI manifest) under `tag`.
   * Returns the manifest text, its digest and the blob digests.
   */
  async pushImage(repository: string, tag: string, extra: Record<string, unknown> = {}): Promise<PushedImage> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
    const layer = randomBytes(2048);
    const configDigest = await this.pushBlob(repository, config);
    const layerDigest = await this.pushBlob(repository, layer);
    const manifest = imageManifest({ digest: configDigest, size: config.length }, [{ digest: layerDigest, size: layer.length }], extra);
    const text = JSON.stringify(manifest);
    await this.pushManifest(repository, tag, text, ociManifest);
    return { text, digest: sha256(text), configDigest, layerDigest, size: Buffer.byteLength(text) };
  }
}

/** What {@link RegistryClient.pushImage} stored. */
export interface PushedImage {
  readonly text: string;
  readonly digest: string;
  readonly configDigest: string;
  readonly layerDigest: string;
  readonly size: number;
}

export const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
export const ociIndex = 'application/vnd.oci.image.index.v1+json';
export const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';
export const dockerManifestList = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const emptyConfig = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 };

/**
 * Builds an OCI 1.1 artifact manifest: `artifactType`, the empty config, no layers and `subject`
 * pointing at an image manifest. `fields` adds or replaces top-level fields.
 */
export function artifactManifest(
  artifactType: string,
  subject: { digest: string; size: number },
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: ociManifest,
    artifactType,
    config: emptyConfig,
    layers: [],
    subject: { mediaType: ociManifest, digest: subject.digest, size: subject.size },
    ...fields,
  };
}

/** Builds an OCI image manifest object for the given config and layer blobs. */
export function imageManifest(
  config: { digest: string; size: number; mediaType?: string },
  layers: { digest: string; size: number; mediaType?: string }[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer })),
    ...extra,
  };
}
