// Push workflow of the OCI distribution-spec conformance suite: streamed,
// monolithic and chunked blob uploads, cross-repository mounts, manifest
// uploads, and deletion of what the workflow created.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  assertBody,
  assertHeader,
  assertHeaderPresent,
  assertStatus,
  formatExchange,
  locationPath,
  putManifest,
  uploadBlob,
} from './client.js';
import type { RegistryResponse } from './client.js';
import { MEDIA_TYPES, makeChunkedBlob } from './content.js';
import type { ChunkedBlob } from './content.js';
import type { ContextSource } from './context.js';
import { NONEXISTENT_MANIFEST } from './pull.js';

/** Size of the chunked-upload blob unless the registry requires larger chunks. */
const CHUNKED_BLOB_SIZE = 42;

/** Tag of the manifest without layers, as in the suite. */
const EMPTY_LAYER_TAG = 'emptylayer';

const octetStream = { 'Content-Type': MEDIA_TYPES.octetStream };

function requireResponse(response: RegistryResponse | undefined, step: string): RegistryResponse {
  assert.ok(response, `the earlier step "${step}" did not produce a response`);
  return response;
}

export function describePushWorkflow(context: ContextSource): void {
  describe('push', () => {
    let emptyLayerPushed = false;

    describe('blob upload streamed', () => {
      let patchResponse: RegistryResponse | undefined;

      test('PATCH streamed blob returns 202', async () => {
        const { client, name, content } = context();
        const session = await client.request('POST', `/v2/${name}/blobs/uploads/`);
        const location = locationPath(session);
        const response = await client.request('PATCH', location, { headers: octetStream, body: content.streamedBlob.content });
        assertStatus(response, 202);
        // The suite follows this Location with the closing PUT.
        assertHeaderPresent(response, 'location');
        patchResponse = response;
      });

      test('PUT streamed upload returns 201', async () => {
        const { client, content } = context();
        const previous = requireResponse(patchResponse, 'PATCH streamed blob returns 202');
        const response = await client.request('PUT', locationPath(previous), {
          query: { digest: content.streamedBlob.digest },
          headers: octetStream,
        });
        assertStatus(response, 201);
        assertHeaderPresent(response, 'location');
      });
    });

    describe('blob upload monolithic', () => {
      let singlePostStatus: number | undefined;
      let sessionResponse: RegistryResponse | undefined;

      test('GET missing blob returns 404', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/blobs/${content.absentDigest}`);
        assertStatus(response, 404);
      });

      test('single POST upload returns 201', async () => {
        const { client, name, content } = context();
        const config = content.configs[1];
        const response = await client.request('POST', `/v2/${name}/blobs/uploads/`, {
          query: { digest: config.digest },
          headers: octetStream,
          body: config.content,
        });
        singlePostStatus = response.status;
        assertHeaderPresent(response, 'location');
        // The suite accepts 201 (stored) or 202 (session opened instead). Berth stores the blob.
        assertStatus(response, 201);
      });

      test('GET single-POST blob matches status', async () => {
        const { client, name, content } = context();
        assert.ok(singlePostStatus !== undefined, 'the single POST upload did not run');
        const response = await client.request('GET', `/v2/${name}/blobs/${content.configs[1].digest}`);
        // After 202 the blob must still be absent, after 201 it must be served.
        assertStatus(response, singlePostStatus === 202 ? 404 : 200);
      });

      test('POST opens upload session', async () => {
        const { client, name } = context();
        const response = await client.request('POST', `/v2/${name}/blobs/uploads/`);
        assertStatus(response, 202);
        sessionResponse = response;
      });

      test('PUT monolithic upload returns 201', async () => {
        const { client, content } = context();
        const session = requireResponse(sessionResponse, 'POST opens upload session');
        const config = content.configs[1];
        const response = await client.request('PUT', locationPath(session), {
          query: { digest: config.digest },
          headers: octetStream,
          body: config.content,
        });
        assertHeaderPresent(response, 'location');
        assertStatus(response, 201);
      });

      test('GET uploaded config returns 200', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/blobs/${content.configs[1].digest}`);
        assertStatus(response, 200);
        assertBody(response, content.configs[1]);
      });

      test('PUT layer upload returns 201', async () => {
        const { client, name, content } = context();
        const response = await uploadBlob(client, name, content.layer);
        assertHeaderPresent(response, 'location');
        assertStatus(response, 201);
      });

      test('GET uploaded layer returns 200', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/blobs/${content.layer.digest}`);
        assertStatus(response, 200);
        assertBody(response, content.layer);
      });
    });

    describe('blob upload chunked', () => {
      let chunked: ChunkedBlob = makeChunkedBlob(CHUNKED_BLOB_SIZE);
      let sessionResponse: RegistryResponse | undefined;
      let statusResponse: RegistryResponse | undefined;
      let secondChunkResponse: RegistryResponse | undefined;

      test('out-of-order chunk returns 416', async () => {
        const { client, name } = context();
        const session = await client.request('POST', `/v2/${name}/blobs/uploads/`, { headers: { 'Content-Length': '0' } });
        const location = locationPath(session);

        // A registry may require a minimum chunk size; grow the blob so its first chunk meets it.
        const minimumChunk = session.headers.get('oci-chunk-min-length');
        if (minimumChunk !== null && minimumChunk !== '') {
          const minimum = Number(minimumChunk);
          assert.ok(Number.isSafeInteger(minimum), `OCI-Chunk-Min-Length is not an integer\n${formatExchange(session)}`);
          assert.ok(minimum > 0, `OCI-Chunk-Min-Length is not positive\n${formatExchange(session)}`);
          if (minimum > chunked.firstChunk.length) {
            chunked = makeChunkedBlob(minimum * 2 - 2);
          }
        }

        const response = await client.request('PATCH', location, {
          headers: { ...octetStream, 'Content-Range': chunked.secondRange },
          body: chunked.secondChunk,
        });
        assertStatus(response, 416);
      });

      test('PATCH first chunk returns 202', async () => {
        const { client, name } = context();
        const session = await client.request('POST', `/v2/${name}/blobs/uploads/`, { headers: { 'Content-Length': '0' } });
        const location = locationPath(session);
        sessionResponse = session;
        const response = await client.request('PATCH', location, {
          headers: { ...octetStream, 'Content-Range': chunked.firstRange },
          body: chunked.firstChunk,
        });
        assertStatus(response, 202);
        // The suite compares the whole header value: an inclusive range without a "bytes=" prefix.
        assertHeader(response, 'range', chunked.firstRange);
      });

      test('retried first chunk returns 416', async () => {
        const { client } = context();
        const session = requireResponse(sessionResponse, 'PATCH first chunk returns 202');
        const response = await client.request('PATCH', locationPath(session), {
          headers: { ...octetStream, 'Content-Range': chunked.firstRange },
          body: chunked.firstChunk,
        });
        assertStatus(response, 416);
      });

      test('GET upload status returns 204', async () => {
        const { client } = context();
        const session = requireResponse(sessionResponse, 'PATCH first chunk returns 202');
        const response = await client.request('GET', locationPath(session));
        assertStatus(response, 204);
        assertHeaderPresent(response, 'location');
        assertHeader(response, 'range', chunked.firstRange);
        statusResponse = response;
      });

      test('PATCH second chunk returns 202', async () => {
        const { client } = context();
        const status = requireResponse(statusResponse, 'GET upload status returns 204');
        const response = await client.request('PATCH', locationPath(status), {
          headers: { ...octetStream, 'Content-Range': chunked.secondRange },
          body: chunked.secondChunk,
        });
        assertStatus(response, 202);
        assertHeaderPresent(response, 'location');
        secondChunkResponse = response;
      });

      test('PUT closing upload returns 201', async () => {
        const { client } = context();
        const previous = requireResponse(secondChunkResponse, 'PATCH second chunk returns 202');
        const response = await client.request('PUT', locationPath(previous), {
          query: { digest: chunked.blob.digest },
          headers: octetStream,
        });
        assertStatus(response, 201);
        assertHeaderPresent(response, 'location');
      });

      // Beyond the suite: the stored blob must be the two chunks joined in order.
      test('GET chunked blob returns content', async () => {
        const { client, name } = context();
        const response = await client.request('GET', `/v2/${name}/blobs/${chunked.blob.digest}`);
        assertStatus(response, 200);
        assertBody(response, chunked.blob);
      });
    });

    describe('cross-repository blob mount', () => {
      let mountResponse: RegistryResponse | undefined;

      test('mount unknown digest opens session', async () => {
        const { client, crossmountName, content } = context();
        const response = await client.request('POST', `/v2/${crossmountName}/blobs/uploads/`, {
          query: { mount: content.absentDigest },
        });
        assertStatus(response, 202);
        assertHeaderPresent(response, 'location');
      });

      test('mount with from returns 201', async () => {
        const { client, name, crossmountName, content } = context();
        const response = await client.request('POST', `/v2/${crossmountName}/blobs/uploads/`, {
          query: { mount: content.streamedBlob.digest, from: name },
        });
        mountResponse = response;
        // The suite accepts 201 (mounted) or 202 (upload session instead). Berth mounts.
        assertStatus(response, 201);
      });

      test('GET mounted blob returns 200', async (t) => {
        const { client, crossmountName, content } = context();
        const mount = requireResponse(mountResponse, 'mount with from returns 201');
        if (mount.status !== 201) {
          t.skip(`runs only after a 201 mount, got ${mount.status}`);
          return;
        }
        const location = locationPath(mount);
        assert.equal(location, `/v2/${crossmountName}/blobs/${content.streamedBlob.digest}`, `mount Location is not the mounted blob\n${formatExchange(mount)}`);
        const response = await client.request('GET', location);
        assertStatus(response, 200);
        assertBody(response, content.streamedBlob);
      });

      test('failed mount returns session location', async (t) => {
        const { crossmountName } = context();
        const mount = requireResponse(mountResponse, 'mount with from returns 201');
        if (mount.status !== 202) {
          t.skip(`runs only after a 202 mount, got ${mount.status}`);
          return;
        }
        const location = locationPath(mount);
        assert.ok(location.startsWith(`/v2/${crossmountName}/blobs/uploads/`), `mount Location is not an upload session\n${formatExchange(mount)}`);
      });

      // The suite runs this check only when OCI_AUTOMATIC_CROSSMOUNT is set to true.
      test('mount without from returns 201', async () => {
        const { client, crossmountName, content } = context();
        const response = await client.request('POST', `/v2/${crossmountName}/blobs/uploads/`, {
          query: { mount: content.streamedBlob.digest },
        });
        assertStatus(response, 201);
      });

      // Beyond the suite, whose target repository already contains the blob: a
      // repository that never had the blob must get it from elsewhere in the registry.
      test('mount without from into new repository', async () => {
        const { client, automountName, content } = context();
        const response = await client.request('POST', `/v2/${automountName}/blobs/uploads/`, {
          query: { mount: content.streamedBlob.digest },
        });
        assertStatus(response, 201);
        assert.equal(locationPath(response), `/v2/${automountName}/blobs/${content.streamedBlob.digest}`, `mount Location is not the mounted blob\n${formatExchange(response)}`);
        const blob = await client.request('GET', `/v2/${automountName}/blobs/${content.streamedBlob.digest}`);
        assertStatus(blob, 200);
        assertBody(blob, content.streamedBlob);
      });
    });

    describe('manifest upload', () => {
      test('GET missing manifest returns 404', async () => {
        const { client, name } = context();
        const response = await client.request('GET', `/v2/${name}/manifests/${NONEXISTENT_MANIFEST}`);
        assertStatus(response, 404);
      });

      test('PUT manifest under four tags', async () => {
        const { client, name, content } = context();
        for (let i = 0; i < 4; i++) {
          const response = await putManifest(client, name, `test${i}`, content.manifests[1]);
          assertHeaderPresent(response, 'location');
          assertStatus(response, 201);
        }
      });

      test('PUT manifest without layers', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, EMPTY_LAYER_TAG, content.emptyLayerManifest);
        // The suite only warns when a manifest without layers is rejected. Berth accepts it.
        assertStatus(response, 201);
        assertHeaderPresent(response, 'location');
        emptyLayerPushed = true;
      });

      test('GET manifest by digest', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/manifests/${content.manifests[1].digest}`, {
          headers: { Accept: MEDIA_TYPES.imageManifest },
        });
        assertStatus(response, 200);
        assertBody(response, content.manifests[1]);
      });
    });

    describe('teardown', () => {
      test('delete pushed manifests', async () => {
        const { client, name, content } = context();
        const response = await client.request('DELETE', `/v2/${name}/manifests/${content.manifests[1].digest}`);
        assertStatus(response, 202);
        if (emptyLayerPushed) {
          const emptyLayer = await client.request('DELETE', `/v2/${name}/manifests/${content.emptyLayerManifest.digest}`);
          assertStatus(emptyLayer, 202);
        }
      });

      test('delete config blob', async () => {
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
