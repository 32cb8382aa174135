import type { Digest } from '../oci/digest.js';

/*
 * Layout of the objects the registry keeps in its storage driver:
 *
 *   blobs/
 *     sha256/
 *       ab/
 *         ab12...ef          content of blob sha256:ab12...ef, stored once for all repositories
 *     sha512/...
 *   uploads/
 *     <session id>           bytes received so far for one upload session
 *
 * Which repository links which blob, manifests, tags and upload progress live in the metadata store.
 */

/** Returns the storage path of a blob's content. */
export function blobPath(digest: Digest): string {
  return `blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
}

/** Returns the storage path of an upload session's staged bytes. */
export function uploadPath(id: string): string {
  return `uploads/${id}`;
}
