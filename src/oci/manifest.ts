import { RegistryError } from '../errors.js';
import { parseDigest, truncate } from './digest.js';

/** Manifest media types berth stores. */
export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

const schema1MediaTypes = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

const indexMediaTypes = new Set<string>([mediaTypes.ociIndex, mediaTypes.dockerManifestList]);
const imageMediaTypes = new Set<string>([mediaTypes.ociManifest, mediaTypes.dockerManifest]);

/** Layer media types whose content is fetched from `urls` and never pushed to a registry. */
const foreignLayerMediaTypes = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** A validated content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
}

/** A descriptor the registry must be able to resolve, with the manifest field it came from. */
export interface Reference {
  readonly field: string;
  readonly digest: string;
  readonly size: number;
}

/** The fields of a validated manifest that the registry stores and checks. */
export interface ParsedManifest {
  readonly mediaType: string;
  readonly kind: 'image' | 'index';
  /** Blobs that must be in the repository: config and layers, except foreign layers. */
  readonly blobs: readonly Reference[];
  /** Manifests an index lists, which must be in the repository. */
  readonly manifests: readonly Reference[];
  readonly subject: string | null;
  /** The referrers API's artifact type: `artifactType`, else an image's config media type. */
  readonly artifactType: string | null;
  readonly annotations: Record<string, string> | null;
}

/**
 * Parses and validates a manifest body. The media type comes from the body's `mediaType` and the
 * request's Content-Type, which must agree when both are given. Throws MANIFEST_INVALID naming
 * the field at fault, with a hint to push schema 2 or OCI when the body is a schema 1 manifest.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalid(`manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('manifest must be a JSON object');
  const manifest = json as Record<string, unknown>;
  const declared = normalizeContentType(contentType);

  if (manifest.schemaVersion === 1 || (declared !== undefined && schema1MediaTypes.has(declared))) {
    throw invalid('Docker schema 1 manifests are not supported: push the image as Docker schema 2 or OCI (for example with skopeo copy --format oci)');
  }
  if (manifest.schemaVersion !== 2) throw invalid(`unsupported schemaVersion ${JSON.stringify(manifest.schemaVersion)}: expected 2`);

  const bodyType = optionalString(manifest, 'mediaType');
  if (bodyType !== undefined && declared !== undefined && declared !== bodyType && !isGenericType(declared)) {
    throw invalid(`Content-Type "${truncate(declared)}" does not match the manifest's mediaType "${truncate(bodyType)}"`);
  }
  const mediaType = bodyType ?? (declared !== undefined && !isGenericType(declared) ? declared : inferMediaType(manifest));
  if (indexMediaTypes.has(mediaType)) return parseIndex(manifest, mediaType);
  if (imageMediaTypes.has(mediaType)) return parseImage(manifest, mediaType);
  throw invalid(`unsupported manifest media type "${truncate(mediaType)}": use ${[...imageMediaTypes, ...indexMediaTypes].join(', ')}`);
}

function parseImage(manifest: Record<string, unknown>, mediaType: string): ParsedManifest {
  const config = descriptor(manifest.config, 'config');
  if (!Array.isArray(manifest.layers)) throw invalid('manifest field "layers" must be an array');
  const layers = manifest.layers.map((layer, index) => descriptor(layer, `layers[${index}]`));
  const artifactType = optionalString(manifest, 'artifactType');
  const blobs = [
    { ...config, field: 'config' },
    ...layers
      .map((layer, index) => ({ ...layer, field: `layers[${index}]` }))
      .filter((layer) => !(foreignLayerMediaTypes.has(layer.mediaType) && layer.urls?.length)),
  ];
  return {
    mediaType,
    kind: 'image',
    blobs: blobs.map(({ field, digest, size }) => ({ field, digest, size })),
    manifests: [],
    subject: manifest.subject === undefined ? null : descriptor(manifest.subject, 'subject').digest,
    artifactType: artifactType ?? config.mediaType,
    annotations: annotations(manifest.annotations),
  };
}

function parseIndex(manifest: Record<string, unknown>, mediaType: string): ParsedManifest {
  if (!Array.isArray(manifest.manifests)) throw invalid('index field "manifests" must be an array');
  const children = manifest.manifests.map((child, index) => descriptor(child, `manifests[${index}]`));
  return {
    mediaType,
    kind: 'index',
    blobs: [],
    manifests: children.map((child, index) => ({ field: `manifests[${index}]`, digest: child.digest, size: child.size })),
    subject: manifest.subject === undefined ? null : descriptor(manifest.subject, 'subject').digest,
    artifactType: optionalString(manifest, 'artifactType') ?? null,
    annotations: annotations(manifest.annotations),
  };
}

function descriptor(value: unknown, field: string): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`manifest field "${field}" must be a descriptor object`);
  const entry = value as Record<string, unknown>;
  const mediaType = entry.mediaType;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`manifest field "${field}.mediaType" must be a non-empty string`);
  if (typeof entry.digest !== 'string') throw invalid(`manifest field "${field}.digest" must be a string`);
  try {
    parseDigest(entry.digest);
  } catch (error) {
    throw invalid(`manifest field "${field}.digest": ${(error as Error).message}`);
  }
  const size = entry.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`manifest field "${field}.size" must be a non-negative integer`);
  const urls = Array.isArray(entry.urls) ? entry.urls.filter((url): url is string => typeof url === 'string') : undefined;
  return { mediaType, digest: entry.digest, size, ...(urls ? { urls } : {}) };
}

function annotations(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('manifest field "annotations" must be an object of strings');
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw invalid(`annotation "${truncate(key)}" must be a string`);
  }
  return value as Record<string, string>;
}

function optionalString(manifest: Record<string, unknown>, field: string): string | undefined {
  const value = manifest[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(`manifest field "${field}" must be a non-empty string`);
  return value;
}

/** Guesses the media type of a manifest that declares none from its fields, as OCI allows. */
function inferMediaType(manifest: Record<string, unknown>): string {
  if (Array.isArray(manifest.manifests)) return mediaTypes.ociIndex;
  if (manifest.config !== undefined) return mediaTypes.ociManifest;
  throw invalid('manifest has no mediaType and neither "config" nor "manifests": set the mediaType field or the Content-Type header');
}

function normalizeContentType(value: string | undefined): string | undefined {
  const type = value?.split(';')[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

function isGenericType(type: string): boolean {
  return type === 'application/json' || type === 'application/octet-stream';
}

function invalid(message: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message);
}
