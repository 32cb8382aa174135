// Test content for the conformance port: the same shapes of blobs, image
// manifests, OCI 1.1 artifacts and index that the OCI distribution-spec
// conformance suite pushes, generated fresh for every run.

import { createHash, randomBytes, randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const MEDIA_TYPES = {
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  emptyJson: 'application/vnd.oci.empty.v1+json',
  octetStream: 'application/octet-stream',
} as const;

/** Digest of the two-byte blob `{}`, fixed by the OCI image spec. */
export const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** Annotation key set on every referrer, whose value identifies the referrer. */
export const REFERRER_ANNOTATION_KEY = 'org.opencontainers.conformance.test';

/** Bytes with their sha256 digest. */
export interface ContentBlob {
  readonly content: Buffer;
  readonly digest: string;
  readonly size: number;
}

/** A blob split into two chunks for the chunked-upload workflow. */
export interface ChunkedBlob {
  readonly blob: ContentBlob;
  readonly firstChunk: Buffer;
  readonly secondChunk: Buffer;
  /** Inclusive byte range of the first chunk, as sent in Content-Range ("0-21"). */
  readonly firstRange: string;
  /** Inclusive byte range of the second chunk ("22-41"). */
  readonly secondRange: string;
}

type Five<T> = [T, T, T, T, T];

/**
 * Everything the four workflows push. Index i of `configs` and `manifests`
 * belongs to one workflow, as in the suite: 0 and 1 pull, 1 push, 2 and 4
 * content discovery (4 is the referrers subject), 3 content management.
 */
export interface ConformanceContent {
  readonly configs: Five<ContentBlob>;
  readonly manifests: Five<ContentBlob>;
  readonly layer: ContentBlob;
  /** Image manifest with config 1 and an empty `layers` list. */
  readonly emptyLayerManifest: ContentBlob;
  /** Random blob for the streamed (PATCH without Content-Range) upload. */
  readonly streamedBlob: ContentBlob;
  readonly emptyJson: ContentBlob;
  readonly referrerBlobA: ContentBlob;
  readonly referrerBlobB: ContentBlob;
  readonly artifactTypeA: string;
  readonly artifactTypeB: string;
  readonly artifactTypeIndex: string;
  /** Artifact whose config media type is artifact type A, with subject manifest 4. */
  readonly artifactConfigA: ContentBlob;
  /** Artifact whose config media type is artifact type B, with subject manifest 4. */
  readonly artifactConfigB: ContentBlob;
  /** Artifact with `artifactType` A and the empty config, with subject manifest 4. */
  readonly artifactLayerA: ContentBlob;
  /** Artifact with `artifactType` B and the empty config, with subject manifest 4. */
  readonly artifactLayerB: ContentBlob;
  /** Like artifactLayerB, but its subject is manifest 3, which is absent while it is pushed. */
  readonly artifactMissingSubject: ContentBlob;
  /** Index with `artifactType` and subject manifest 4, listing artifactConfigA and artifactLayerA. */
  readonly artifactIndex: ContentBlob;
  /** Expected REFERRER_ANNOTATION_KEY value for each referrer digest. */
  readonly referrerAnnotations: ReadonlyMap<string, string>;
  /** Well-formed digest of content that is never uploaded. */
  readonly absentDigest: string;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function toBlob(content: Buffer): ContentBlob {
  return { content, digest: sha256Digest(content), size: content.length };
}

/** Serializes JSON with tab indentation, the layout the suite's Go encoder produces. */
function jsonBlob(value: unknown): ContentBlob {
  return toBlob(Buffer.from(JSON.stringify(value, null, '\t'), 'utf8'));
}

/**
 * Builds a descriptor with its keys in the suite's order. Every descriptor
 * carries `newUnspecifiedField`, a field unknown to the image spec that the
 * registry must store and serve unchanged. Its value is null unless given.
 */
function descriptor(
  mediaType: string,
  blob: ContentBlob,
  extra: { data?: Buffer; newUnspecifiedField?: Buffer } = {},
): Record<string, unknown> {
  const result: Record<string, unknown> = { mediaType, digest: blob.digest, size: blob.size };
  if (extra.data !== undefined) {
    result['data'] = extra.data.toString('base64');
  }
  result['newUnspecifiedField'] = extra.newUnspecifiedField === undefined ? null : extra.newUnspecifiedField.toString('base64');
  return result;
}

function randomAuthor(length: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-';
  let author = '';
  for (let i = 0; i < length; i++) {
    author += alphabet[randomInt(alphabet.length)];
  }
  return author;
}

/** Image config whose random author makes its digest unique to this run. */
function makeConfig(): ContentBlob {
  return jsonBlob({
    author: randomAuthor(16),
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
  });
}

/** Writes `text` into a fixed-width, NUL-padded ustar header field. */
function writeField(header: Buffer, offset: number, width: number, text: string): void {
  header.write(text.slice(0, width), offset, 'ascii');
}

/** Builds a gzip-compressed ustar archive holding one regular file. */
function makeTarGzip(fileName: string, fileContent: Buffer): Buffer {
  const header = Buffer.alloc(512);
  writeField(header, 0, 100, fileName);
  writeField(header, 100, 8, '0000644');
  writeField(header, 108, 8, '0000000');
  writeField(header, 116, 8, '0000000');
  writeField(header, 124, 12, fileContent.length.toString(8).padStart(11, '0'));
  writeField(header, 136, 12, '00000000000');
  header.fill(0x20, 148, 156);
  writeField(header, 156, 1, '0');
  writeField(header, 257, 6, 'ustar');
  writeField(header, 263, 2, '00');

  // The checksum is the byte sum of the header with the checksum field read as spaces.
  let checksum = 0;
  for (const byte of header) {
    checksum += byte;
  }
  writeField(header, 148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);

  const padding = Buffer.alloc((512 - (fileContent.length % 512)) % 512);
  const endOfArchive = Buffer.alloc(1024);
  return gzipSync(Buffer.concat([header, fileContent, padding, endOfArchive]));
}

function makeImageManifest(config: ContentBlob, layer: ContentBlob, withMediaType: boolean, withLayer: boolean): ContentBlob {
  const manifest: Record<string, unknown> = { schemaVersion: 2 };
  if (withMediaType) {
    manifest['mediaType'] = MEDIA_TYPES.imageManifest;
  }
  manifest['config'] = descriptor(MEDIA_TYPES.imageConfig, config, {
    data: config.content,
    newUnspecifiedField: Buffer.from('unknown field content', 'utf8'),
  });
  manifest['layers'] = withLayer ? [descriptor(MEDIA_TYPES.layerTarGzip, layer)] : [];
  return jsonBlob(manifest);
}

/** Splits a random blob of `size` bytes after byte size/2 into two chunks. */
export function makeChunkedBlob(size: number): ChunkedBlob {
  const blob = toBlob(randomBytes(size));
  const split = Math.floor(size / 2) + 1;
  const firstChunk = blob.content.subarray(0, split);
  const secondChunk = blob.content.subarray(split);
  return {
    blob,
    firstChunk,
    secondChunk,
    firstRange: `0-${firstChunk.length - 1}`,
    secondRange: `${firstChunk.length}-${blob.size - 1}`,
  };
}

export function buildConformanceContent(): ConformanceContent {
  const configs: Five<ContentBlob> = [makeConfig(), makeConfig(), makeConfig(), makeConfig(), makeConfig()];
  const layer = toBlob(makeTarGzip('conformance.txt', Buffer.from('berth conformance layer\n', 'utf8')));
  const manifests: Five<ContentBlob> = [
    makeImageManifest(configs[0], layer, true, true),
    makeImageManifest(configs[1], layer, true, true),
    makeImageManifest(configs[2], layer, true, true),
    makeImageManifest(configs[3], layer, true, true),
    makeImageManifest(configs[4], layer, true, true),
  ];
  const emptyLayerManifest = makeImageManifest(configs[1], layer, false, false);

  const emptyJson = toBlob(Buffer.from('{}', 'utf8'));
  const referrerBlobA = toBlob(Buffer.from('berth conformance referrer payload A', 'utf8'));
  const referrerBlobB = toBlob(Buffer.from('berth conformance referrer payload B', 'utf8'));
  const artifactTypeA = 'application/vnd.berth.conformance.alpha';
  const artifactTypeB = 'application/vnd.berth.conformance.beta';
  const artifactTypeIndex = 'application/vnd.berth.conformance.bundle';

  const subject = descriptor(MEDIA_TYPES.imageManifest, manifests[4]);
  const missingSubject = descriptor(MEDIA_TYPES.imageManifest, manifests[3]);
  const referrerAnnotations = new Map<string, string>();

  const configTypedArtifact = (artifactType: string, payload: ContentBlob, note: string): ContentBlob => {
    const blob = jsonBlob({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.imageManifest,
      config: descriptor(artifactType, payload),
      layers: [descriptor(MEDIA_TYPES.emptyJson, emptyJson)],
      subject,
      annotations: { [REFERRER_ANNOTATION_KEY]: note },
    });
    referrerAnnotations.set(blob.digest, note);
    return blob;
  };
  const layerTypedArtifact = (artifactType: string, payload: ContentBlob, subjectDescriptor: Record<string, unknown>, note?: string): ContentBlob => {
    const manifest: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.imageManifest,
      artifactType,
      config: descriptor(MEDIA_TYPES.emptyJson, emptyJson),
      layers: [descriptor(artifactType, payload)],
      subject: subjectDescriptor,
    };
    if (note !== undefined) {
      manifest['annotations'] = { [REFERRER_ANNOTATION_KEY]: note };
    }
    const blob = jsonBlob(manifest);
    if (note !== undefined) {
      referrerAnnotations.set(blob.digest, note);
    }
    return blob;
  };

  const artifactConfigA = configTypedArtifact(artifactTypeA, referrerBlobA, 'config-typed artifact A');
  const artifactConfigB = configTypedArtifact(artifactTypeB, referrerBlobB, 'config-typed artifact B');
  const artifactLayerA = layerTypedArtifact(artifactTypeA, referrerBlobA, subject, 'layer-typed artifact A');
  const artifactLayerB = layerTypedArtifact(artifactTypeB, referrerBlobB, subject, 'layer-typed artifact B');
  const artifactMissingSubject = layerTypedArtifact(artifactTypeB, referrerBlobB, missingSubject);

  const indexNote = 'artifact index';
  const artifactIndex = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.imageIndex,
    artifactType: artifactTypeIndex,
    manifests: [descriptor(MEDIA_TYPES.imageManifest, artifactConfigA), descriptor(MEDIA_TYPES.imageManifest, artifactLayerA)],
    subject,
    annotations: { [REFERRER_ANNOTATION_KEY]: indexNote },
  });
  referrerAnnotations.set(artifactIndex.digest, indexNote);

  return {
    configs,
    manifests,
    layer,
    emptyLayerManifest,
    streamedBlob: toBlob(randomBytes(42)),
    emptyJson,
    referrerBlobA,
    referrerBlobB,
    artifactTypeA,
    artifactTypeB,
    artifactTypeIndex,
    artifactConfigA,
    artifactConfigB,
    artifactLayerA,
    artifactLayerB,
    artifactMissingSubject,
    artifactIndex,
    referrerAnnotations,
    absentDigest: sha256Digest(Buffer.from('berth conformance: content never uploaded', 'utf8')),
  };
}
