/**
 * Builders of real OCI image layouts for the end-to-end tests.
 *
 * Layers are tarred by GNU tar from files on this machine (Debian's busybox-static
 * binary, a debootstrap root filesystem) and gzip-compressed with node:zlib. Blobs are
 * streamed to disk and hashed on the way, so no layer is held in memory.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { findTool, run } from './tools.js';

/** OCI and SPDX media types used by the test images. */
export const MEDIA_TYPES = {
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
  spdxJson: 'application/spdx+json',
} as const;

/** OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** OCI platform of an image. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** The empty JSON blob `{}` that OCI 1.1 artifacts without a config point to. */
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MEDIA_TYPES.empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

/** Annotation that names a reference in an OCI layout's index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** One image manifest in a layout, with what it points to. */
export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  /** Compressed layer descriptors, bottom layer first. */
  layers: Descriptor[];
  /** sha256 of each uncompressed layer tar, matching the config's rootfs.diff_ids. */
  diffIds: string[];
  platform: Platform;
}

/** The SPDX artifact that refers to an image through its `subject` field. */
export interface BuiltArtifact {
  manifest: Descriptor;
  artifactType: string;
  /** The SPDX JSON document, the artifact's only layer. */
  document: Descriptor;
  subject: Descriptor;
  /** Annotations of the artifact manifest. */
  annotations: Record<string, string>;
}

/** Result of `buildBusyboxLayout`. */
export interface BusyboxLayout {
  dir: string;
  /** Manifest or index digest of each ref name in index.json. */
  refs: Record<string, string>;
  /** `busybox:latest`, built for the architecture of this machine. */
  latest: BuiltImage;
  /** `busybox:multi`, an image index with one linux/amd64 and one linux/arm64 image. */
  multi: { index: Descriptor; amd64: BuiltImage; arm64: BuiltImage };
  /** `busybox:sbom`, an SPDX artifact whose subject is `busybox:latest`. */
  sbom: BuiltArtifact;
  /** Digest of every blob in the layout, sorted. */
  blobDigests: string[];
}

/** Result of `buildDebianLayout`. */
export interface DebianLayout {
  dir: string;
  /** Manifest digest of each ref name in index.json. */
  refs: Record<string, string>;
  /** `debian:minbase`. */
  minbase: BuiltImage;
  /** Digest of every blob in the layout, sorted. */
  blobDigests: string[];
}

/** Options for `buildDebianLayout`. */
export interface DebianLayoutOptions {
  /** Directory of the cached root filesystem layer: by default $BERTH_TEST_CACHE, else /var/tmp/berth-test-cache. */
  cacheDir?: string;
}

/** Fixed creation time, so that rebuilding the busybox layout gives the same digests. */
const BUSYBOX_CREATED = '2024-01-01T00:00:00Z';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const BUSYBOX_BINARY = '/bin/busybox';
const DEBIAN_SUITE = 'bookworm';
const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';
const DEBOOTSTRAP_TIMEOUT_MS = 15 * 60_000;
/** GNU tar flags that make an archive depend only on file names, contents, modes and link targets. */
const REPRODUCIBLE_TAR_FLAGS = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu'];

/**
 * Builds an OCI image layout in `dir` (which must not exist or be empty, and whose path
 * must not contain ':') with three refs:
 * - `busybox:latest`: an image of this machine's architecture. Its first layer contains
 *   Debian's /bin/busybox and its applet symlinks, the second a few /etc files.
 * - `busybox:multi`: an image index of a linux/amd64 and a linux/arm64 image.
 * - `busybox:sbom`: an OCI 1.1 SPDX artifact whose subject is `busybox:latest`.
 * Needs /bin/busybox (package busybox-static) and GNU tar. Rebuilding gives the same digests.
 */
export async function buildBusyboxLayout(dir: string): Promise<BusyboxLayout> {
  const layout = await OciLayoutWriter.create(dir);
  const staging = await mkdtemp(join(tmpdir(), 'berth-busybox-staging-'));
  try {
    const binaryLayer = await buildBusyboxBinaryLayer(layout, join(staging, 'binary'));
    const etcLayer = await buildBusyboxEtcLayer(layout, join(staging, 'etc'));
    const layers = [binaryLayer, etcLayer];
    const history = [
      { created: BUSYBOX_CREATED, created_by: 'COPY /bin/busybox from Debian busybox-static, with applet symlinks' },
      { created: BUSYBOX_CREATED, created_by: 'COPY /etc/passwd /etc/group /etc/hostname' },
    ];

    const hostPlatform = platformOfThisMachine();
    const buildFor = (platform: Platform): Promise<BuiltImage> =>
      writeImage(layout, {
        platform,
        layers,
        created: BUSYBOX_CREATED,
        runtimeConfig: { Env: [PATH_ENV], Cmd: ['/bin/sh'], WorkingDir: '/' },
        history,
        manifestAnnotations: { 'org.opencontainers.image.title': 'busybox' },
      });

    const latest = await buildFor(hostPlatform);
    // NOTE: this machine has only binaries of its own architecture, so the index entry of the
    // other architecture carries the same busybox binary. Its config names the other
    // architecture, which gives it its own manifest digest. A registry never inspects
    // layer contents, so only the descriptors matter to the tests.
    const amd64 = hostPlatform.architecture === 'amd64' ? latest : await buildFor({ architecture: 'amd64', os: 'linux' });
    const arm64 =
      hostPlatform.architecture === 'arm64' ? latest : await buildFor({ architecture: 'arm64', os: 'linux', variant: 'v8' });
    const index = await layout.writeJson(MEDIA_TYPES.imageIndex, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.imageIndex,
      manifests: [
        { ...amd64.manifest, platform: amd64.platform },
        { ...arm64.manifest, platform: arm64.platform },
      ],
    });

    const sbom = await writeSpdxArtifact(layout, latest.manifest, [
      { path: 'bin/busybox', source: BUSYBOX_BINARY },
      ...BUSYBOX_ETC_FILES.map((file) => ({ path: file.path, content: file.content })),
    ]);

    layout.addRef('busybox:latest', latest.manifest);
    layout.addRef('busybox:multi', index);
    layout.addRef('busybox:sbom', sbom.manifest);
    await layout.writeIndex();
    return {
      dir,
      refs: layout.refs(),
      latest,
      multi: { index, amd64, arm64 },
      sbom,
      blobDigests: layout.blobDigests(),
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Builds an OCI image layout in `dir` (which must not exist or be empty) with the ref
 * `debian:minbase`: the root filesystem from `debootstrap --variant=minbase bookworm` as
 * one gzip layer, plus a small layer with /etc/hostname and an apt setting.
 * The root filesystem layer is cached in the cache directory and reused. Building it
 * takes 30-60 s and needs root, debootstrap and access to the Debian mirror named in
 * the apt sources of this machine.
 */
export async function buildDebianLayout(dir: string, options: DebianLayoutOptions = {}): Promise<DebianLayout> {
  const cacheDir = options.cacheDir ?? process.env.BERTH_TEST_CACHE ?? '/var/tmp/berth-test-cache';
  const rootfs = await ensureDebianRootfsLayer(cacheDir);

  const layout = await OciLayoutWriter.create(dir);
  const staging = await mkdtemp(join(tmpdir(), 'berth-debian-staging-'));
  try {
    const rootfsLayer = await layout.importFile(join(cacheDir, rootfs.file), MEDIA_TYPES.layerGzip);
    if (rootfsLayer.digest !== rootfs.digest) {
      throw new Error(
        `cached layer ${join(cacheDir, rootfs.file)} has digest ${rootfsLayer.digest}, ` +
          `but ${join(cacheDir, DEBIAN_CACHE_METADATA)} records ${rootfs.digest}: delete both files to rebuild them`,
      );
    }

    const extraDir = join(staging, 'extra');
    await writeTree(extraDir, [
      { path: 'etc/hostname', content: 'debian-minbase\n' },
      { path: 'etc/apt/apt.conf.d/90-no-recommends', content: 'APT::Install-Recommends "false";\n' },
    ]);
    const extraLayer = await layout.writeTarLayer(extraDir);

    const minbase = await writeImage(layout, {
      platform: rootfs.platform,
      layers: [{ descriptor: rootfsLayer, diffId: rootfs.diffId }, extraLayer],
      created: rootfs.created,
      runtimeConfig: { Env: [PATH_ENV], Cmd: ['bash'] },
      history: [
        { created: rootfs.created, created_by: `debootstrap --variant=minbase ${DEBIAN_SUITE} / ${rootfs.mirror}` },
        { created: rootfs.created, created_by: 'COPY /etc/hostname /etc/apt/apt.conf.d/90-no-recommends' },
      ],
      manifestAnnotations: { 'org.opencontainers.image.title': `debian ${DEBIAN_SUITE} minbase` },
    });
    layout.addRef('debian:minbase', minbase.manifest);
    await layout.writeIndex();
    return { dir, refs: layout.refs(), minbase, blobDigests: layout.blobDigests() };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Returns the sha256 digest (`sha256:HEX`) of a file, reading it as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
    }
  });
  return `sha256:${hash.digest('hex')}`;
}

/** Returns the sha256 digest (`sha256:HEX`) of bytes or a string. */
export function sha256Bytes(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Returns the path of a blob in an OCI image layout. */
export function blobPath(layoutDir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (algorithm === undefined || hex === undefined || hex === '') {
    throw new Error(`invalid digest: ${digest}`);
  }
  return join(layoutDir, 'blobs', algorithm, hex);
}

/** A layer written to a layout: its compressed descriptor and its diff ID. */
interface LayerBlob {
  descriptor: Descriptor;
  diffId: string;
}

/** Pass-through stream that computes the sha256 and size of what flows through it. */
class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Writes blobs and refs into an OCI image layout directory. */
class OciLayoutWriter {
  private readonly blobs = new Set<string>();
  private readonly refEntries: Descriptor[] = [];

  private constructor(readonly dir: string) {}

  static async create(dir: string): Promise<OciLayoutWriter> {
    if (dir.includes(':')) {
      throw new Error(`OCI layout path must not contain ':', because image references split on it: ${dir}`);
    }
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    const existing = (await readdir(dir)).filter((name) => name !== 'blobs');
    if (existing.length > 0 || (await readdir(join(dir, 'blobs', 'sha256'))).length > 0) {
      throw new Error(`OCI layout directory is not empty: ${dir}`);
    }
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    return new OciLayoutWriter(dir);
  }

  async writeBytes(mediaType: string, data: Uint8Array | string): Promise<Descriptor> {
    const digest = sha256Bytes(data);
    await writeFile(blobPath(this.dir, digest), data);
    this.blobs.add(digest);
    return { mediaType, digest, size: Buffer.byteLength(data) };
  }

  /** Serializes `value` as compact JSON and stores it as a blob. */
  writeJson(mediaType: string, value: unknown): Promise<Descriptor> {
    return this.writeBytes(mediaType, JSON.stringify(value));
  }

  /** Copies a file into the layout as a blob, hashing it on the way. */
  async importFile(path: string, mediaType: string): Promise<Descriptor> {
    const temporary = this.temporaryBlobPath();
    const counter = new DigestStream();
    await pipeline(createReadStream(path), counter, createWriteStream(temporary));
    return this.commitBlob(temporary, mediaType, counter.digest(), counter.size);
  }

  /** Tars the contents of `sourceDir` reproducibly, gzips it and stores it as a layer blob. */
  async writeTarLayer(sourceDir: string): Promise<LayerBlob> {
    const temporary = this.temporaryBlobPath();
    const { diffId, digest, size } = await writeGzipTar(sourceDir, REPRODUCIBLE_TAR_FLAGS, temporary);
    return { descriptor: await this.commitBlob(temporary, MEDIA_TYPES.layerGzip, digest, size), diffId };
  }

  addRef(name: string, descriptor: Descriptor): void {
    this.refEntries.push({
      ...descriptor,
      annotations: { ...descriptor.annotations, [REF_NAME_ANNOTATION]: name },
    });
  }

  async writeIndex(): Promise<void> {
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.imageIndex, manifests: this.refEntries };
    await writeFile(join(this.dir, 'index.json'), JSON.stringify(index, null, 2));
  }

  refs(): Record<string, string> {
    const refs: Record<string, string> = {};
    for (const entry of this.refEntries) {
      const name = entry.annotations?.[REF_NAME_ANNOTATION];
      if (name !== undefined) {
        refs[name] = entry.digest;
      }
    }
    return refs;
  }

  blobDigests(): string[] {
    return [...this.blobs].sort();
  }

  private temporaryBlobPath(): string {
    return join(this.dir, 'blobs', `.incoming-${process.pid}-${this.blobs.size}-${Math.random().toString(16).slice(2)}`);
  }

  private async commitBlob(temporary: string, mediaType: string, digest: string, size: number): Promise<Descriptor> {
    await rename(temporary, blobPath(this.dir, digest));
    this.blobs.add(digest);
    return { mediaType, digest, size };
  }
}

/**
 * Runs GNU tar on the top-level entries of `sourceDir` and writes the archive gzipped to
 * `destination`, returning the sha256 of the uncompressed archive (the diff ID) and the
 * sha256 and size of the compressed file. Entry names have no leading "./".
 */
async function writeGzipTar(
  sourceDir: string,
  tarFlags: readonly string[],
  destination: string,
): Promise<{ diffId: string; digest: string; size: number }> {
  const tarPath = findTool('tar');
  if (tarPath === undefined) {
    throw new Error('tar not found: install with: apt-get install -y tar');
  }
  const entries = (await readdir(sourceDir)).sort();
  if (entries.length === 0) {
    throw new Error(`layer directory is empty: ${sourceDir}`);
  }
  const args = ['--create', '--file=-', ...tarFlags, `--directory=${sourceDir}`, '--', ...entries];
  const tar = spawn(tarPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => resolve(code));
  });

  const uncompressed = new DigestStream();
  const compressed = new DigestStream();
  await pipeline(tar.stdout, uncompressed, createGzip({ level: 6 }), compressed, createWriteStream(destination));
  const code = await exited;
  if (code !== 0) {
    await rm(destination, { force: true });
    throw new Error(`tar exited with code ${String(code)}: ${tarPath} ${args.join(' ')}\n${stderr.trimEnd()}`);
  }
  return { diffId: uncompressed.digest(), digest: compressed.digest(), size: compressed.size };
}

/** What `writeImage` needs to write an image config and manifest. */
interface ImageSpec {
  platform: Platform;
  layers: LayerBlob[];
  created: string;
  /** The `config` object of the image config: Env, Cmd, WorkingDir and so on. */
  runtimeConfig: Record<string, unknown>;
  history: { created: string; created_by: string }[];
  manifestAnnotations: Record<string, string>;
}

async function writeImage(layout: OciLayoutWriter, spec: ImageSpec): Promise<BuiltImage> {
  const diffIds = spec.layers.map((layer) => layer.diffId);
  const config = await layout.writeJson(MEDIA_TYPES.imageConfig, {
    created: spec.created,
    architecture: spec.platform.architecture,
    ...(spec.platform.variant !== undefined ? { variant: spec.platform.variant } : {}),
    os: spec.platform.os,
    config: spec.runtimeConfig,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: spec.history,
  });
  const layers = spec.layers.map((layer) => layer.descriptor);
  const manifest = await layout.writeJson(MEDIA_TYPES.imageManifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.imageManifest,
    config,
    layers,
    annotations: { 'org.opencontainers.image.created': spec.created, ...spec.manifestAnnotations },
  });
  return { manifest, config, layers, diffIds, platform: spec.platform };
}

async function buildBusyboxBinaryLayer(layout: OciLayoutWriter, dir: string): Promise<LayerBlob> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await copyFile(BUSYBOX_BINARY, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);

  // `busybox --list-full` prints the install path of every applet, e.g. "bin/sh" or "usr/bin/awk".
  const { stdout } = await run(BUSYBOX_BINARY, ['--list-full']);
  const appletPaths = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.includes('/') && line !== 'bin/busybox' && !line.startsWith('/') && !line.includes('..'));
  if (!appletPaths.includes('bin/sh')) {
    throw new Error(`${BUSYBOX_BINARY} --list-full did not list bin/sh, so it cannot serve as the image shell`);
  }
  for (const appletPath of appletPaths) {
    await mkdir(dirname(join(dir, appletPath)), { recursive: true });
    await symlink('/bin/busybox', join(dir, appletPath));
  }
  await setDirectoryModes(dir, 0o755);
  return layout.writeTarLayer(dir);
}

/** Files of the busybox image's second layer. */
const BUSYBOX_ETC_FILES = [
  { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
  { path: 'etc/group', content: 'root:x:0:\nnogroup:x:65534:\n' },
  { path: 'etc/hostname', content: 'busybox\n' },
];

async function buildBusyboxEtcLayer(layout: OciLayoutWriter, dir: string): Promise<LayerBlob> {
  await writeTree(dir, BUSYBOX_ETC_FILES);
  await mkdir(join(dir, 'root'));
  await mkdir(join(dir, 'tmp'));
  await setDirectoryModes(dir, 0o755);
  await chmod(join(dir, 'root'), 0o700);
  await chmod(join(dir, 'tmp'), 0o1777);
  return layout.writeTarLayer(dir);
}

/** Writes each file (mode 0644) under `dir`, creating parent directories. */
async function writeTree(dir: string, files: readonly { path: string; content: string }[]): Promise<void> {
  for (const file of files) {
    const target = join(dir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    await chmod(target, 0o644);
  }
  await setDirectoryModes(dir, 0o755);
}

/** Sets `mode` on `dir` and every directory below it, so that the umask does not leak into layers. */
async function setDirectoryModes(dir: string, mode: number): Promise<void> {
  await chmod(dir, mode);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      await setDirectoryModes(join(dir, entry.name), mode);
    }
  }
}

/** A file listed in the SPDX document, read from `source` or given as `content`. */
type SpdxFileSource = { path: string; source: string } | { path: string; content: string };

/**
 * Writes an SPDX 2.3 JSON document listing `files` with their SHA-1 and SHA-256, and an
 * OCI 1.1 artifact manifest with the empty config, that document as its layer and
 * `subject` as its subject.
 */
async function writeSpdxArtifact(
  layout: OciLayoutWriter,
  subject: Descriptor,
  files: readonly SpdxFileSource[],
): Promise<BuiltArtifact> {
  const spdxFiles = [];
  for (const [position, file] of files.entries()) {
    const data = 'source' in file ? await readFile(file.source) : Buffer.from(file.content);
    spdxFiles.push({
      fileName: `./${file.path}`,
      SPDXID: `SPDXRef-File-${position + 1}`,
      checksums: [
        { algorithm: 'SHA1', checksumValue: createHash('sha1').update(data).digest('hex') },
        { algorithm: 'SHA256', checksumValue: createHash('sha256').update(data).digest('hex') },
      ],
      licenseConcluded: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
    });
  }
  const busyboxVersion = await debianPackageVersion('busybox-static');
  const document = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'busybox',
    documentNamespace: `urn:berth-test:spdx:busybox:${subject.digest.replace('sha256:', '')}`,
    creationInfo: { created: BUSYBOX_CREATED, creators: ['Tool: berth-test-images'] },
    packages: [
      {
        name: 'busybox-static',
        SPDXID: 'SPDXRef-Package-busybox-static',
        versionInfo: busyboxVersion,
        supplier: 'Organization: Debian',
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'GPL-2.0-only',
        copyrightText: 'NOASSERTION',
      },
    ],
    files: spdxFiles,
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Package-busybox-static' },
      ...spdxFiles.map((file) => ({
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: file.SPDXID,
      })),
    ],
  };
  const documentBlob = await layout.writeJson(MEDIA_TYPES.spdxJson, document);
  const documentDescriptor: Descriptor = {
    ...documentBlob,
    annotations: { 'org.opencontainers.image.title': 'busybox.spdx.json' },
  };
  await layout.writeBytes(EMPTY_DESCRIPTOR.mediaType, '{}');

  const subjectDescriptor: Descriptor = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  const annotations = {
    'org.opencontainers.image.created': BUSYBOX_CREATED,
    'org.opencontainers.image.description': 'SPDX 2.3 software bill of materials of busybox:latest',
  };
  const manifestBlob = await layout.writeJson(MEDIA_TYPES.imageManifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.imageManifest,
    artifactType: MEDIA_TYPES.spdxJson,
    config: EMPTY_DESCRIPTOR,
    layers: [documentDescriptor],
    subject: subjectDescriptor,
    annotations,
  });
  return {
    manifest: { ...manifestBlob, artifactType: MEDIA_TYPES.spdxJson },
    artifactType: MEDIA_TYPES.spdxJson,
    document: documentDescriptor,
    subject: subjectDescriptor,
    annotations,
  };
}

async function debianPackageVersion(packageName: string): Promise<string> {
  try {
    const { stdout } = await run('dpkg-query', ['--show', '--showformat=${Version}', packageName]);
    return stdout.trim() === '' ? 'NOASSERTION' : stdout.trim();
  } catch {
    return 'NOASSERTION';
  }
}

/** OCI platform of this machine, from Node's `process.arch`. */
function platformOfThisMachine(): Platform {
  switch (process.arch) {
    case 'x64':
      return { architecture: 'amd64', os: 'linux' };
    case 'arm64':
      return { architecture: 'arm64', os: 'linux', variant: 'v8' };
    default:
      throw new Error(`no OCI platform mapping for process.arch ${process.arch}; the test images support x64 and arm64`);
  }
}

const DEBIAN_CACHE_LAYER = `debian-${DEBIAN_SUITE}-minbase.tar.gz`;
const DEBIAN_CACHE_METADATA = `debian-${DEBIAN_SUITE}-minbase.json`;

/** Metadata stored beside the cached Debian root filesystem layer. */
interface DebianRootfsLayer {
  /** File name of the gzip layer in the cache directory. */
  file: string;
  digest: string;
  size: number;
  diffId: string;
  platform: Platform;
  mirror: string;
  /** When debootstrap ran, in RFC 3339. */
  created: string;
}

/**
 * Returns the metadata of the cached Debian root filesystem layer, running debootstrap
 * and writing the layer first when the cache has none.
 * The layer file is renamed into place before its metadata, so metadata always names a
 * complete file. Two processes that both miss the cache each build it, and the last
 * rename wins.
 */
async function ensureDebianRootfsLayer(cacheDir: string): Promise<DebianRootfsLayer> {
  const metadataPath = join(cacheDir, DEBIAN_CACHE_METADATA);
  try {
    const cached = JSON.parse(await readFile(metadataPath, 'utf8')) as DebianRootfsLayer;
    const layerStat = await stat(join(cacheDir, cached.file));
    if (layerStat.size === cached.size) {
      return cached;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }

  const debootstrap = findTool('debootstrap');
  if (debootstrap === undefined) {
    throw new Error('debootstrap not found: install with: apt-get install -y debootstrap');
  }
  await mkdir(cacheDir, { recursive: true });
  const workDir = await mkdtemp(join(cacheDir, 'build-'));
  try {
    const rootfs = join(workDir, 'rootfs');
    const mirror = findDebianMirror();
    const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await run(debootstrap, ['--variant=minbase', DEBIAN_SUITE, rootfs, mirror], { timeoutMs: DEBOOTSTRAP_TIMEOUT_MS });
    assertNothingMountedBelow(rootfs);
    await trimRootfs(rootfs);

    const temporaryLayer = join(workDir, DEBIAN_CACHE_LAYER);
    // Ownership and modification times stay as debootstrap left them: the root
    // filesystem has files owned by other users than root, and the cache makes the
    // layer stable across runs anyway.
    const { diffId, digest, size } = await writeGzipTar(rootfs, ['--sort=name', '--numeric-owner', '--format=gnu'], temporaryLayer);
    const metadata: DebianRootfsLayer = {
      file: DEBIAN_CACHE_LAYER,
      digest,
      size,
      diffId,
      platform: platformOfThisMachine(),
      mirror,
      created,
    };
    await rename(temporaryLayer, join(cacheDir, DEBIAN_CACHE_LAYER));
    await writeFile(join(workDir, DEBIAN_CACHE_METADATA), JSON.stringify(metadata, null, 2));
    await rename(join(workDir, DEBIAN_CACHE_METADATA), metadataPath);
    return metadata;
  } finally {
    assertNothingMountedBelow(workDir);
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Removes from a fresh debootstrap root filesystem what container images leave out:
 * device nodes (the runtime creates /dev), downloaded .deb files, and the host's
 * resolv.conf and hostname, which debootstrap copies in.
 */
async function trimRootfs(rootfs: string): Promise<void> {
  for (const entry of await readdir(join(rootfs, 'dev'))) {
    await rm(join(rootfs, 'dev', entry), { recursive: true, force: true });
  }
  const archives = join(rootfs, 'var', 'cache', 'apt', 'archives');
  for (const entry of await readdir(archives)) {
    if (entry.endsWith('.deb')) {
      await rm(join(archives, entry));
    }
  }
  await rm(join(rootfs, 'etc', 'resolv.conf'), { force: true });
  await writeFile(join(rootfs, 'etc', 'hostname'), 'localhost\n');
  await chmod(join(rootfs, 'etc', 'hostname'), 0o644);
}

/** Throws when a file system is mounted at or below `dir`, so that removing `dir` cannot reach into it. */
function assertNothingMountedBelow(dir: string): void {
  const mountInfo = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of mountInfo.split('\n')) {
    // Field 5 of /proc/self/mountinfo is the mount point, with spaces escaped as \040.
    const mountPoint = line.split(' ')[4];
    if (mountPoint !== undefined && (mountPoint === dir || mountPoint.startsWith(`${dir}/`))) {
      throw new Error(`${mountPoint} is still mounted (left by debootstrap?); unmount it, then delete ${dir}`);
    }
  }
}

/**
 * Returns the URI of the first Debian archive in the apt sources of this machine that
 * serves the bookworm suite (security archives excluded), or http://deb.debian.org/debian.
 */
function findDebianMirror(): string {
  const candidates: { uri: string; suites: string[] }[] = [];
  const readIfPresent = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };

  // One-line format: "deb [options] URI SUITE COMPONENT...".
  const listFiles = ['/etc/apt/sources.list'];
  const deb822Files: string[] = [];
  let sourceDirEntries: string[] = [];
  try {
    sourceDirEntries = readdirSync('/etc/apt/sources.list.d').sort();
  } catch {
    sourceDirEntries = [];
  }
  for (const name of sourceDirEntries) {
    if (name.endsWith('.list')) {
      listFiles.push(join('/etc/apt/sources.list.d', name));
    } else if (name.endsWith('.sources')) {
      deb822Files.push(join('/etc/apt/sources.list.d', name));
    }
  }
  for (const path of listFiles) {
    for (const rawLine of readIfPresent(path).split('\n')) {
      const fields = rawLine.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
      if (fields[0] === 'deb' && fields[1] !== undefined && fields[2] !== undefined) {
        candidates.push({ uri: fields[1], suites: [fields[2]] });
      }
    }
  }

  // deb822 format: stanzas separated by blank lines, with "Types:", "URIs:" and "Suites:" fields.
  for (const path of deb822Files) {
    for (const stanza of readIfPresent(path).split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const line of stanza.split('\n')) {
        const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (match?.[1] !== undefined && match[2] !== undefined) {
          fields.set(match[1].toLowerCase(), match[2].trim());
        }
      }
      const enabled = (fields.get('enabled') ?? 'yes').toLowerCase() !== 'no';
      const types = (fields.get('types') ?? '').split(/\s+/);
      if (!enabled || !types.includes('deb')) {
        continue;
      }
      const suites = (fields.get('suites') ?? '').split(/\s+/);
      for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter((value) => value !== '')) {
        candidates.push({ uri, suites });
      }
    }
  }

  const match = candidates.find(
    (candidate) =>
      candidate.suites.includes(DEBIAN_SUITE) && /^https?:\/\//.test(candidate.uri) && !candidate.uri.includes('security'),
  );
  return match?.uri.replace(/\/+$/, '') ?? DEFAULT_DEBIAN_MIRROR;
}
