/** OCI distribution API operations that the workloads time: blob pushes, manifest PUTs and tag listing. */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FreshBlob } from './content.js';
import { requiredHeader } from './http.js';
import type { RegistryClient } from './http.js';

/** Media type of an OCI image manifest. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/**
 * Accept header of manifest requests. Distribution 2.8 returns an OCI manifest by tag only
 * when the request accepts the OCI media type.
 */
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Content that can be pushed as a blob: its size, digest and bytes on demand. */
export type BlobSource = Pick<FreshBlob, 'size' | 'digest' | 'stream'>;

/** OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** Manifest bytes with their digest. */
export interface ManifestBytes {
  bytes: Buffer;
  digest: string;
}

/** Returns a blob source for bytes held in memory. */
export function bufferBlob(bytes: Buffer): BlobSource {
  return {
    size: bytes.length,
    digest: sha256(bytes),
    stream: (start = 0, end = bytes.length) => Readable.from([bytes.subarray(start, end)]),
  };
}

/** Returns `sha256:HEX` of `bytes`. */
export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Starts an upload session (`POST /v2/<repo>/blobs/uploads/`, 202) and returns its Location. */
export async function startUpload(client: RegistryClient, repository: string): Promise<URL> {
  const response = await client.request('POST', `/v2/${repository}/blobs/uploads/`, { expect: [202] });
  return client.resolve(requiredHeader(response, 'Location', `POST /v2/${repository}/blobs/uploads/`));
}

/** Pushes a blob in one request: POST to start the upload, then PUT `?digest=` with the whole body (201). */
export async function pushMonolithic(client: RegistryClient, repository: string, blob: BlobSource): Promise<void> {
  const location = await startUpload(client, repository);
  location.searchParams.set('digest', blob.digest);
  const response = await client.request('PUT', location, {
    expect: [201],
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.size },
    body: blob.stream(),
  });
  checkDigestHeader(response.headers['docker-content-digest'], blob.digest, `PUT ${location.pathname}`);
}

/**
 * Pushes a blob in chunks of `chunkBytes`: POST, one PATCH per chunk with `Content-Range:
 * START-END` (following each new Location and checking the `Range` reply), then PUT `?digest=`
 * without a body.
 */
export async function pushChunked(client: RegistryClient, repository: string, blob: BlobSource, chunkBytes: number): Promise<void> {
  let location = await startUpload(client, repository);
  for (let start = 0; start < blob.size; start += chunkBytes) {
    const end = Math.min(start + chunkBytes, blob.size);
    const response = await client.request('PATCH', location, {
      expect: [202],
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': end - start,
        'Content-Range': `${start}-${end - 1}`,
      },
      body: blob.stream(start, end),
    });
    const requestLabel = `PATCH ${location.pathname} with bytes ${start}-${end - 1}`;
    const range = requiredHeader(response, 'Range', requestLabel);
    if (range !== `0-${end - 1}`) {
      throw new Error(`${requestLabel}: Range header is ${range}, expected 0-${end - 1}`);
    }
    location = client.resolve(requiredHeader(response, 'Location', requestLabel));
  }
  location.searchParams.set('digest', blob.digest);
  const response = await client.request('PUT', location, { expect: [201] });
  checkDigestHeader(response.headers['docker-content-digest'], blob.digest, `PUT ${location.pathname}`);
}

/** Checks with `HEAD /v2/<repo>/blobs/<digest>` that the registry has the blob with `size` bytes. */
export async function checkBlob(client: RegistryClient, repository: string, digest: string, size: number): Promise<void> {
  const response = await client.request('HEAD', `/v2/${repository}/blobs/${digest}`, { expect: [200] });
  const length = Number(response.headers['content-length']);
  if (length !== size) {
    throw new Error(`HEAD /v2/${repository}/blobs/${digest}: Content-Length is ${String(response.headers['content-length'])}, expected ${size}`);
  }
}

/** Builds an OCI image manifest of `config` and `layers`. */
export function imageManifest(config: Descriptor, layers: readonly Descriptor[], annotations?: Record<string, string>): ManifestBytes {
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers, ...(annotations ? { annotations } : {}) }),
  );
  return { bytes, digest: sha256(bytes) };
}

/** Returns an image config blob whose content is unique (it records `nonce` as a label). */
export function uniqueConfig(nonce: string, layerCount: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { 'berth.bench.nonce': nonce } },
      rootfs: { type: 'layers', diff_ids: Array.from({ length: layerCount }, (_, index) => sha256(`${nonce}/${index}`)) },
    }),
  );
}

/** Returns the descriptor of an image config blob. */
export function configDescriptor(blob: BlobSource): Descriptor {
  return { mediaType: OCI_CONFIG, digest: blob.digest, size: blob.size };
}

/** Returns the descriptor of a gzip layer blob. */
export function layerDescriptor(blob: BlobSource): Descriptor {
  return { mediaType: OCI_LAYER_GZIP, digest: blob.digest, size: blob.size };
}

/** PUTs a manifest under `reference` (201) and checks the returned Docker-Content-Digest. */
export async function putManifest(client: RegistryClient, repository: string, reference: string, manifest: ManifestBytes): Promise<void> {
  const response = await client.request('PUT', `/v2/${repository}/manifests/${reference}`, {
    expect: [201],
    headers: { 'Content-Type': OCI_MANIFEST },
    body: manifest.bytes,
  });
  checkDigestHeader(response.headers['docker-content-digest'], manifest.digest, `PUT /v2/${repository}/manifests/${reference}`);
}

/** GETs a manifest by tag or digest and checks that its bytes have the expected digest. */
export async function checkManifest(client: RegistryClient, repository: string, reference: string, digest: string): Promise<void> {
  const response = await client.request('GET', `/v2/${repository}/manifests/${reference}`, {
    expect: [200],
    headers: { Accept: MANIFEST_ACCEPT },
  });
  const requestLabel = `GET /v2/${repository}/manifests/${reference}`;
  if (sha256(response.body) !== digest) {
    throw new Error(`${requestLabel}: body has digest ${sha256(response.body)}, expected ${digest}`);
  }
  checkDigestHeader(response.headers['docker-content-digest'], digest, requestLabel);
}

/** A small image that a workload pushed untimed: its manifest and blobs. */
export interface SmallImage {
  manifest: ManifestBytes;
  blobs: BlobSource[];
}

/** Builds a small image in memory: a unique config and one layer of `layerBytes` random bytes. */
export function smallImage(layerBytes: number): SmallImage {
  const nonce = randomBytes(16).toString('hex');
  const layer = bufferBlob(randomBytes(layerBytes));
  const config = bufferBlob(uniqueConfig(nonce, 1));
  return { manifest: imageManifest(configDescriptor(config), [layerDescriptor(layer)]), blobs: [config, layer] };
}

/** Pushes the blobs of `image` monolithically and its manifest under `tag`. */
export async function pushSmallImage(client: RegistryClient, repository: string, tag: string, image: SmallImage): Promise<void> {
  for (const blob of image.blobs) {
    await pushMonolithic(client, repository, blob);
  }
  await putManifest(client, repository, tag, image.manifest);
}

/** Result of listing the tags of a repository page by page. */
export interface TagListing {
  tags: string[];
  pages: number;
  /** Number of tags in the longest page. */
  largestPage: number;
}

/**
 * Lists the tags of `repository` with `GET /v2/<repo>/tags/list?n=pageSize`, following
 * `Link: <...>; rel="next"` headers, and stops with an error after `maxPages` pages.
 */
export async function listTags(client: RegistryClient, repository: string, pageSize: number, maxPages: number): Promise<TagListing> {
  const tags: string[] = [];
  let pages = 0;
  let largestPage = 0;
  let next: string | undefined = `/v2/${repository}/tags/list?n=${pageSize}`;
  while (next !== undefined) {
    if (pages >= maxPages) {
      throw new Error(`GET /v2/${repository}/tags/list: still a Link to a next page after ${maxPages} pages (${next})`);
    }
    const response = await client.request('GET', next, { expect: [200] });
    const page = JSON.parse(response.body.toString('utf8')) as { name?: unknown; tags?: unknown };
    if (page.tags !== null && !Array.isArray(page.tags)) {
      throw new Error(`GET ${next}: "tags" is not an array: ${response.body.toString('utf8').slice(0, 300)}`);
    }
    const pageTags = (page.tags ?? []) as string[];
    tags.push(...pageTags);
    pages += 1;
    largestPage = Math.max(largestPage, pageTags.length);
    next = nextLink(response.headers.link);
  }
  return { tags, pages, largestPage };
}

/** Returns the target of a `Link: <URL>; rel="next"` header, or undefined when there is none. */
export function nextLink(header: string | string[] | undefined): string | undefined {
  if (header === undefined) {
    return undefined;
  }
  const values = Array.isArray(header) ? header : [header];
  for (const value of values) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(value);
    if (match?.[1] !== undefined) {
      return match[1];
    }
  }
  return undefined;
}

function checkDigestHeader(header: string | string[] | undefined, expected: string, requestLabel: string): void {
  if (header !== expected) {
    throw new Error(`${requestLabel}: Docker-Content-Digest is ${String(header)}, expected ${expected}`);
  }
}
