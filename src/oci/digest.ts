import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from '../errors.js';

/** Digest algorithms berth accepts, with the length of their hex encoding. */
const algorithms = { sha256: 64, sha512: 128 } as const;

/** A supported digest algorithm. */
export type DigestAlgorithm = keyof typeof algorithms;

/** A parsed, validated digest such as `sha256:<64 lowercase hex>`. */
export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** The canonical string form, `<algorithm>:<hex>`. */
  readonly value: string;
}

const digestPattern = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/**
 * Parses a digest string. Throws DIGEST_INVALID naming the value when it is malformed, and
 * UNSUPPORTED when the algorithm is well formed but not sha256 or sha512.
 */
export function parseDigest(value: string): Digest {
  const match = digestPattern.exec(value);
  if (!match) {
    throw new RegistryError('DIGEST_INVALID', `invalid digest "${truncate(value)}": expected <algorithm>:<hex>, for example sha256:<64 hex characters>`);
  }
  const algorithm = match[1] as string;
  const hex = match[2] as string;
  if (!(algorithm in algorithms)) {
    throw new RegistryError('UNSUPPORTED', `unsupported digest algorithm "${truncate(algorithm)}": use sha256 or sha512`, { status: 400 });
  }
  const length = algorithms[algorithm as DigestAlgorithm];
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid digest "${truncate(value)}": ${algorithm} needs ${length} lowercase hex characters`);
  }
  return { algorithm: algorithm as DigestAlgorithm, hex, value };
}

/** Returns true when `value` looks like a digest rather than a tag (it contains a colon). */
export function isDigestReference(value: string): boolean {
  return value.includes(':');
}

/** Creates a streaming hash for `algorithm`. */
export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** Computes the digest of a buffer held in memory (manifests, never blobs). */
export function digestOf(data: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Shortens a value echoed in an error message so a hostile input cannot bloat the response. */
export function truncate(value: string, max = 300): string {
  return value.length <= max ? value : `${value.slice(0, max)}...`;
}
