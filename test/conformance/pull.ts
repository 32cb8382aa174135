// Pull workflow of the OCI distribution-spec conformance suite: populate the
// repository, then HEAD and GET blobs and manifests by digest and tag, check
// the error body of a malformed reference, and delete what setup created.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  assertBody,
  assertHeader,
  assertStatus,
  formatExchange,
  parseErrorCodes,
  putManifest,
  uploadBlob,
} from './client.js';
import { MEDIA_TYPES } from './content.js';
import type { ContextSource } from './context.js';

/** Error codes defined by the distribution spec, which an error body must use. */
export const SPEC_ERROR_CODES: readonly string[] = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
];

/** Tag the pull and content management workflows push, as in the suite. */
export const DEFAULT_TAG = 'tagtest0';

/** A reference that is neither a valid tag (tags cannot start with ".") nor a digest. */
export const NONEXISTENT_MANIFEST = '.NO_SUCH_MANIFEST';

/** A reference with a digest algorithm prefix and a non-hex encoded part. */
const MALFORMED_DIGEST_REFERENCE = 'sha256:nothexatall';

export function describePullWorkflow(context: ContextSource): void {
  describe('pull', () => {
    describe('setup', () => {
      // The suite accepts any 2xx for setup uploads, but the spec makes a completed upload 201.
      test('upload config blob 0', async () => {
        const { client, name, content } = context();
        const response = await uploadBlob(client, name, content.configs[0]);
        assertStatus(response, 201);
      });

      test('upload config blob 1', async () => {
        const { client, name, content } = context();
        const response = await uploadBlob(client, name, content.configs[1]);
        assertStatus(response, 201);
      });

      test('upload layer blob', async () => {
        const { client, name, content } = context();
        const response = await uploadBlob(client, name, content.layer);
        assertStatus(response, 201);
      });

      test('push manifest 0 by tag', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, DEFAULT_TAG, content.manifests[0]);
        assertStatus(response, 201);
      });

      test('push manifest 1 by digest', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, content.manifests[1].digest, content.manifests[1]);
        assertStatus(response, 201);
      });
    });

    describe('pull blobs', () => {
      test('HEAD missing blob returns 404', async () => {
        const { client, name, content } = context();
        const response = await client.request('HEAD', `/v2/${name}/blobs/${content.absentDigest}`);
        assertStatus(response, 404);
      });

      test('HEAD existing blob returns 200', async () => {
        const { client, name, content } = context();
        const config = content.configs[0];
        const response = await client.request('HEAD', `/v2/${name}/blobs/${config.digest}`);
        assertStatus(response, 200);
        // The suite checks Docker-Content-Digest only when present; berth always sends it.
        assertHeader(response, 'docker-content-digest', config.digest);
        // Beyond the suite: the spec requires the blob length on HEAD.
        assertHeader(response, 'content-length', String(config.size));
      });

      test('GET missing blob returns 404', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/blobs/${content.absentDigest}`);
        assertStatus(response, 404);
      });

      test('GET existing blob returns 200', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/blobs/${content.configs[0].digest}`);
        assertStatus(response, 200);
        // Beyond the suite: the body must be the uploaded bytes.
        assertBody(response, content.configs[0]);
      });
    });

    describe('pull manifests', () => {
      const acceptManifest = { Accept: MEDIA_TYPES.imageManifest };

      test('HEAD missing manifest returns 404', async () => {
        const { client, name } = context();
        const response = await client.request('HEAD', `/v2/${name}/manifests/${NONEXISTENT_MANIFEST}`);
        assertStatus(response, 404);
      });

      test('HEAD manifest 0 by digest', async () => {
        const { client, name, content } = context();
        const manifest = content.manifests[0];
        const response = await client.request('HEAD', `/v2/${name}/manifests/${manifest.digest}`, { headers: acceptManifest });
        assertStatus(response, 200);
        assertHeader(response, 'docker-content-digest', manifest.digest);
        assertHeader(response, 'content-length', String(manifest.size));
      });

      test('HEAD manifest 1 by digest', async () => {
        const { client, name, content } = context();
        const manifest = content.manifests[1];
        const response = await client.request('HEAD', `/v2/${name}/manifests/${manifest.digest}`, { headers: acceptManifest });
        assertStatus(response, 200);
        assertHeader(response, 'docker-content-digest', manifest.digest);
        assertHeader(response, 'content-length', String(manifest.size));
      });

      test('HEAD manifest by tag', async () => {
        const { client, name, content } = context();
        const response = await client.request('HEAD', `/v2/${name}/manifests/${DEFAULT_TAG}`, { headers: acceptManifest });
        assertStatus(response, 200);
        assertHeader(response, 'docker-content-digest', content.manifests[0].digest);
      });

      test('GET missing manifest returns 404', async () => {
        const { client, name } = context();
        const response = await client.request('GET', `/v2/${name}/manifests/${NONEXISTENT_MANIFEST}`);
        assertStatus(response, 404);
      });

      test('GET manifest 0 by digest', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/manifests/${content.manifests[0].digest}`, { headers: acceptManifest });
        assertStatus(response, 200);
        assertBody(response, content.manifests[0]);
      });

      test('GET manifest 1 by digest', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/manifests/${content.manifests[1].digest}`, { headers: acceptManifest });
        assertStatus(response, 200);
        assertBody(response, content.manifests[1]);
      });

      test('GET manifest by tag', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/manifests/${DEFAULT_TAG}`, { headers: acceptManifest });
        assertStatus(response, 200);
        assertBody(response, content.manifests[0]);
        assertHeader(response, 'content-type', MEDIA_TYPES.imageManifest);
      });
    });

    describe('error codes', () => {
      test('malformed digest reference returns 400', async () => {
        const { client, name } = context();
        // The suite also sends a non-JSON body with this GET, which fetch cannot send.
        const response = await client.request('GET', `/v2/${name}/manifests/${MALFORMED_DIGEST_REFERENCE}`, {
          headers: { 'Content-Type': MEDIA_TYPES.imageManifest },
        });
        // The suite accepts 400 with a spec error code, or 404. Berth rejects the malformed digest with 400.
        assertStatus(response, 400);
        const codes = parseErrorCodes(response);
        assert.ok(codes.length > 0, `error body lists no errors\n${formatExchange(response)}`);
        assert.ok(SPEC_ERROR_CODES.includes(codes[0] ?? ''), `first error code ${JSON.stringify(codes[0])} is not a spec error code\n${formatExchange(response)}`);
      });
    });

    // The suite deletes manifests before blobs by default. It accepts 2xx or
    // 405, and 404 for blobs. Berth supports both deletions, so 202.
    describe('teardown', () => {
      test('delete manifest 0', async () => {
        const { client, name, content } = context();
        const response = await client.request('DELETE', `/v2/${name}/manifests/${content.manifests[0].digest}`);
        assertStatus(response, 202);
      });

      test('delete manifest 1', async () => {
        const { client, name, content } = context();
        const response = await client.request('DELETE', `/v2/${name}/manifests/${content.manifests[1].digest}`);
        assertStatus(response, 202);
      });

      test('delete config blob 0', async () => {
        const { client, name, content } = context();
        const response = await client.request('DELETE', `/v2/${name}/blobs/${content.configs[0].digest}`);
        assertStatus(response, 202);
      });

      test('delete config blob 1', async () => {
        const { client, name, content } = context();
        const response = await client.request('DELETE', `/v2/${name}/blobs/${content.configs[1].digest}`);
        assertStatus(response, 202);
      });

      test('delete layer blob', async () => {
        const { client, name, content } = context();
        const response = await client.request('DELETE', `/v2/${name}/blobs/${content.layer.digest}`);
        assertStatus(response, 202);
      });
    });
  });
}
