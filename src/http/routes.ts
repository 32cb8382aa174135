import { deleteBlob, getBlob } from './handlers/blobs.js';
import { getCatalog } from './handlers/catalog.js';
import { getBase, getHealth, getReady } from './handlers/base.js';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests.js';
import { getReferrers } from './handlers/referrers.js';
import { getTags } from './handlers/tags.js';
import { cancelUpload, completeUpload, getUploadStatus, patchUpload, startUpload } from './handlers/uploads.js';
import type { Route } from './router.js';

/** A repository name: anything up to the last fixed path segment; handlers validate its grammar. */
const name = '(?<name>.+)';

/** The route table of the OCI distribution API and the health endpoints, matched in order. */
export const routes: readonly Route[] = [
  { method: 'GET', pattern: /^\/v2\/?$/, handler: getBase, access: 'none' },
  { method: 'GET', pattern: /^\/v2\/_catalog$/, handler: getCatalog, access: 'catalog' },
  { method: 'GET', pattern: new RegExp(`^/v2/${name}/tags/list$`), handler: getTags, access: 'pull' },
  { method: 'GET', pattern: new RegExp(`^/v2/${name}/manifests/(?<reference>[^/]+)$`), handler: getManifest, access: 'pull' },
  { method: 'PUT', pattern: new RegExp(`^/v2/${name}/manifests/(?<reference>[^/]+)$`), handler: putManifest, access: 'push' },
  { method: 'DELETE', pattern: new RegExp(`^/v2/${name}/manifests/(?<reference>[^/]+)$`), handler: deleteManifest, access: 'delete' },
  { method: 'POST', pattern: new RegExp(`^/v2/${name}/blobs/uploads/?$`), handler: startUpload, access: 'push' },
  { method: 'GET', pattern: new RegExp(`^/v2/${name}/blobs/uploads/(?<uuid>[^/]+)$`), handler: getUploadStatus, access: 'push' },
  { method: 'PATCH', pattern: new RegExp(`^/v2/${name}/blobs/uploads/(?<uuid>[^/]+)$`), handler: patchUpload, access: 'push' },
  { method: 'PUT', pattern: new RegExp(`^/v2/${name}/blobs/uploads/(?<uuid>[^/]+)$`), handler: completeUpload, access: 'push' },
  { method: 'DELETE', pattern: new RegExp(`^/v2/${name}/blobs/uploads/(?<uuid>[^/]+)$`), handler: cancelUpload, access: 'push' },
  { method: 'GET', pattern: new RegExp(`^/v2/${name}/blobs/(?<digest>[^/]+)$`), handler: getBlob, access: 'pull' },
  { method: 'DELETE', pattern: new RegExp(`^/v2/${name}/blobs/(?<digest>[^/]+)$`), handler: deleteBlob, access: 'delete' },
  { method: 'GET', pattern: new RegExp(`^/v2/${name}/referrers/(?<digest>[^/]+)$`), handler: getReferrers, access: 'pull' },
  { method: 'GET', pattern: /^\/healthz$/, handler: getHealth, access: 'none' },
  { method: 'GET', pattern: /^\/readyz$/, handler: getReady, access: 'none' },
];
