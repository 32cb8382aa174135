// Content management workflow of the OCI distribution-spec conformance
// suite: delete a tag, then its manifest by digest, then the blobs, checking
// that each deletion is visible.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { assertStatus, formatExchange, parseTagList, putManifest, uploadBlob } from './client.js';
import type { ContextSource } from './context.js';
import { DEFAULT_TAG } from './pull.js';

export function describeManagementWorkflow(context: ContextSource): void {
  describe('content management', () => {
    let tagCountBefore: number | undefined;

    describe('setup', () => {
      test('upload config blob 3', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.configs[3]), 201);
      });

      test('upload layer blob', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.layer), 201);
      });

      test('push manifest under tag', async () => {
        const { client, name, content } = context();
        assertStatus(await putManifest(client, name, DEFAULT_TAG, content.manifests[3]), 201);
      });

      test('count tags before deletion', async () => {
        const { client, name } = context();
        const response = await client.request('GET', `/v2/${name}/tags/list`);
        assertStatus(response, 200);
        tagCountBefore = parseTagList(response).tags.length;
      });
    });

    describe('manifest delete', () => {
      test('DELETE tag returns 202', async () => {
        const { client, name } = context();
        const response = await client.request('DELETE', `/v2/${name}/manifests/${DEFAULT_TAG}`);
        // The suite also accepts 400 UNSUPPORTED or 405 from registries that forbid tag deletion.
        assertStatus(response, 202);
      });

      test('DELETE manifest by digest', async () => {
        const { client, name, content } = context();
        const response = await client.request('DELETE', `/v2/${name}/manifests/${content.manifests[3].digest}`);
        // The suite also accepts 404 in case the tag deletion removed the
        // manifest. Berth deletes only the tag, so the manifest is still there.
        assertStatus(response, 202);
      });

      test('GET deleted manifest returns 404', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/manifests/${content.manifests[3].digest}`);
        // The suite also accepts 200 from registries that disallow deletion.
        assertStatus(response, 404);
      });

      test('tag list reflects deletion', async () => {
        const { client, name } = context();
        assert.ok(tagCountBefore !== undefined, 'the tag count before deletion was not taken');
        const response = await client.request('GET', `/v2/${name}/tags/list`);
        assertStatus(response, 200);
        const tags = parseTagList(response).tags;
        assert.ok(tags.length < tagCountBefore, `expected fewer than ${tagCountBefore} tags\n${formatExchange(response)}`);
        assert.ok(!tags.includes(DEFAULT_TAG), `deleted tag ${DEFAULT_TAG} is still listed\n${formatExchange(response)}`);
      });
    });

    describe('blob delete', () => {
      test('DELETE blobs returns 202', async () => {
        const { client, name, content } = context();
        // The suite also accepts 404 and 405, but berth deletes blobs.
        assertStatus(await client.request('DELETE', `/v2/${name}/blobs/${content.configs[3].digest}`), 202);
        assertStatus(await client.request('DELETE', `/v2/${name}/blobs/${content.layer.digest}`), 202);
      });

      test('GET deleted blob returns 404', async () => {
        const { client, name, content } = context();
        assertStatus(await client.request('GET', `/v2/${name}/blobs/${content.configs[3].digest}`), 404);
      });
    });
  });
}
