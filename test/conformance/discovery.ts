// Content discovery workflow of the OCI distribution-spec conformance suite:
// tag listing with `n` and `last`, and the referrers API with and without an
// artifactType filter, including referrers pushed before their subject and a
// referrer whose subject never exists.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  assertHeader,
  assertStatus,
  formatExchange,
  isRecord,
  parseIndexManifests,
  parseTagList,
  putManifest,
  uploadBlob,
} from './client.js';
import type { RegistryClient, RegistryResponse } from './client.js';
import { EMPTY_JSON_DIGEST, MEDIA_TYPES, REFERRER_ANNOTATION_KEY } from './content.js';
import type { ConformanceContent, ContentBlob } from './content.js';
import type { ContextSource } from './context.js';
import { DEFAULT_TAG } from './pull.js';

/** Number of tags the setup points at manifest 2, as in the suite. */
const TEST_TAG_COUNT = 4;

interface ExpectedReferrer {
  readonly manifest: ContentBlob;
  readonly mediaType: string;
  readonly artifactType: string;
}

/** The five referrers of manifest 4 with the descriptor fields the referrers API must report. */
function referrersOfSubject(content: ConformanceContent): ExpectedReferrer[] {
  return [
    { manifest: content.artifactConfigA, mediaType: MEDIA_TYPES.imageManifest, artifactType: content.artifactTypeA },
    { manifest: content.artifactLayerA, mediaType: MEDIA_TYPES.imageManifest, artifactType: content.artifactTypeA },
    { manifest: content.artifactIndex, mediaType: MEDIA_TYPES.imageIndex, artifactType: content.artifactTypeIndex },
    { manifest: content.artifactConfigB, mediaType: MEDIA_TYPES.imageManifest, artifactType: content.artifactTypeB },
    { manifest: content.artifactLayerB, mediaType: MEDIA_TYPES.imageManifest, artifactType: content.artifactTypeB },
  ];
}

/**
 * Asserts that the index lists exactly `expected`, in any order, and that each
 * descriptor carries the referrer's single annotation. The suite checks the
 * count and the annotations. Berth must also report mediaType, size and
 * artifactType (taken from config.mediaType when the manifest has none).
 */
function assertReferrers(response: RegistryResponse, content: ConformanceContent, expected: readonly ExpectedReferrer[]): void {
  const entries = parseIndexManifests(response);
  assert.equal(entries.length, expected.length, `expected ${expected.length} referrers, got ${entries.length}\n${formatExchange(response)}`);

  const listed = entries.map((entry) => String(entry['digest'])).sort();
  const wanted = expected.map((referrer) => referrer.manifest.digest).sort();
  assert.deepEqual(listed, wanted, `referrer digests differ from the pushed referrers\n${formatExchange(response)}`);

  for (const entry of entries) {
    const digest = String(entry['digest']);
    const referrer = expected.find((candidate) => candidate.manifest.digest === digest);
    assert.ok(referrer, `unexpected referrer ${digest}\n${formatExchange(response)}`);

    const annotations = entry['annotations'];
    assert.ok(isRecord(annotations), `referrer ${digest} has no annotations object\n${formatExchange(response)}`);
    assert.equal(Object.keys(annotations).length, 1, `referrer ${digest} must carry exactly one annotation\n${formatExchange(response)}`);
    assert.equal(
      annotations[REFERRER_ANNOTATION_KEY],
      content.referrerAnnotations.get(digest),
      `referrer ${digest} annotation differs from its manifest\n${formatExchange(response)}`,
    );

    assert.equal(entry['mediaType'], referrer.mediaType, `referrer ${digest} mediaType\n${formatExchange(response)}`);
    assert.equal(entry['size'], referrer.manifest.size, `referrer ${digest} size\n${formatExchange(response)}`);
    assert.equal(entry['artifactType'], referrer.artifactType, `referrer ${digest} artifactType\n${formatExchange(response)}`);
  }
}

async function getTags(client: RegistryClient, name: string, query: Record<string, string> = {}): Promise<RegistryResponse> {
  return client.request('GET', `/v2/${name}/tags/list`, { query });
}

/** Returns the URL of the `rel="next"` entry of a Link header, or undefined when there is none. */
function nextLink(response: RegistryResponse): URL | undefined {
  const header = response.headers.get('link');
  if (header === null) {
    return undefined;
  }
  const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(header);
  if (match === null || match[1] === undefined) {
    return undefined;
  }
  return new URL(match[1], response.url);
}

export function describeDiscoveryWorkflow(context: ContextSource): void {
  describe('content discovery', () => {
    let allTags: string[] | undefined;

    describe('setup', () => {
      test('upload config blob 2', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.configs[2]), 201);
      });

      test('upload layer blob', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.layer), 201);
      });

      test('push four test tags', async () => {
        const { client, name, content } = context();
        for (let i = 0; i < TEST_TAG_COUNT; i++) {
          const response = await putManifest(client, name, `test${i}`, content.manifests[2]);
          assertStatus(response, 201);
        }
      });
    });

    // Referrers A and the index are pushed before their subject (manifest 4),
    // referrers B after it, and one referrer names a subject that is never pushed.
    describe('referrers setup', () => {
      test('empty JSON digest is canonical', () => {
        const { content } = context();
        assert.equal(content.emptyJson.digest, EMPTY_JSON_DIGEST);
      });

      test('upload empty JSON blob', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.emptyJson), 201);
      });

      test('upload referrer blob A', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.referrerBlobA), 201);
      });

      test('push config-typed artifact A', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, content.artifactConfigA.digest, content.artifactConfigA);
        assertStatus(response, 201);
        assertHeader(response, 'oci-subject', content.manifests[4].digest);
      });

      test('push layer-typed artifact A', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, content.artifactLayerA.digest, content.artifactLayerA);
        assertStatus(response, 201);
        assertHeader(response, 'oci-subject', content.manifests[4].digest);
      });

      test('push artifact index', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, content.artifactIndex.digest, content.artifactIndex, MEDIA_TYPES.imageIndex);
        assertStatus(response, 201);
        assertHeader(response, 'oci-subject', content.manifests[4].digest);
      });

      test('upload config blob 4', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.configs[4]), 201);
      });

      test('upload layer blob again', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.layer), 201);
      });

      test('push subject manifest', async () => {
        const { client, name, content } = context();
        assertStatus(await putManifest(client, name, DEFAULT_TAG, content.manifests[4]), 201);
      });

      test('upload referrer blob B', async () => {
        const { client, name, content } = context();
        assertStatus(await uploadBlob(client, name, content.referrerBlobB), 201);
      });

      test('push config-typed artifact B', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, content.artifactConfigB.digest, content.artifactConfigB);
        assertStatus(response, 201);
        assertHeader(response, 'oci-subject', content.manifests[4].digest);
      });

      test('push layer-typed artifact B', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, content.artifactLayerB.digest, content.artifactLayerB);
        assertStatus(response, 201);
        assertHeader(response, 'oci-subject', content.manifests[4].digest);
      });

      test('push artifact with absent subject', async () => {
        const { client, name, content } = context();
        const response = await putManifest(client, name, content.artifactMissingSubject.digest, content.artifactMissingSubject);
        assertStatus(response, 201);
        assertHeader(response, 'oci-subject', content.manifests[3].digest);
      });
    });

    describe('listing tags', () => {
      test('list tags returns 200', async () => {
        const { client, name } = context();
        const response = await getTags(client, name);
        assertStatus(response, 200);
        const list = parseTagList(response);
        assert.equal(list.name, name, `tag list "name" is not the repository\n${formatExchange(response)}`);
        allTags = list.tags;
      });

      // Beyond the suite: after the earlier workflows deleted their manifests,
      // exactly the discovery tags remain, in lexical order.
      test('tag list holds current tags', () => {
        assert.ok(allTags, 'the full tag list was not fetched');
        assert.deepEqual(allTags, [DEFAULT_TAG, 'test0', 'test1', 'test2', 'test3']);
      });

      test('n limits tag count', async () => {
        const { client, name } = context();
        assert.ok(allTags, 'the full tag list was not fetched');
        const limit = Math.floor(allTags.length / 2);
        assert.ok(limit > 0, `too few tags to paginate: ${JSON.stringify(allTags)}`);

        const response = await getTags(client, name, { n: String(limit) });
        assertStatus(response, 200);
        const page = parseTagList(response).tags;
        assert.equal(page.length, limit, `expected ${limit} tags\n${formatExchange(response)}`);
        // Beyond the suite: the page is the start of the sorted list, and Link names the next page.
        assert.deepEqual(page, allTags.slice(0, limit), `first page is not the start of the full list\n${formatExchange(response)}`);
        const next = nextLink(response);
        assert.ok(next, `expected a Link header with rel="next"\n${formatExchange(response)}`);
        assert.equal(next.searchParams.get('n'), String(limit), `Link "n" differs from the request\n${formatExchange(response)}`);
        assert.equal(next.searchParams.get('last'), page[limit - 1], `Link "last" is not the last tag of the page\n${formatExchange(response)}`);
      });

      // The suite checks only the status of the second page; this also checks its content.
      test('last sets page start', async () => {
        const { client, name } = context();
        assert.ok(allTags, 'the full tag list was not fetched');
        const limit = Math.floor(allTags.length / 2);
        assert.ok(limit > 0, `too few tags to paginate: ${JSON.stringify(allTags)}`);

        const first = await getTags(client, name, { n: String(limit) });
        assertStatus(first, 200);
        const last = parseTagList(first).tags[limit - 1];
        assert.ok(last !== undefined, `first page has fewer than ${limit} tags\n${formatExchange(first)}`);

        const response = await getTags(client, name, { n: String(limit), last });
        assertStatus(response, 200);
        const page = parseTagList(response).tags;
        assert.ok(page.length <= limit, `expected at most ${limit} tags\n${formatExchange(response)}`);
        assert.ok(!page.includes(last), `page after "${last}" repeats it\n${formatExchange(response)}`);
        assert.deepEqual(page, allTags.slice(limit, 2 * limit), `page after "${last}" is not the next slice of the full list\n${formatExchange(response)}`);
      });
    });

    describe('listing referrers', () => {
      test('unknown subject lists no referrers', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/referrers/${content.absentDigest}`);
        assertStatus(response, 200);
        assertHeader(response, 'content-type', MEDIA_TYPES.imageIndex);
        const entries = parseIndexManifests(response);
        assert.equal(entries.length, 0, `expected no referrers\n${formatExchange(response)}`);
      });

      test('subject lists five referrers', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/referrers/${content.manifests[4].digest}`);
        assertStatus(response, 200);
        assertHeader(response, 'content-type', MEDIA_TYPES.imageIndex);
        assertReferrers(response, content, referrersOfSubject(content));
      });

      test('artifactType filter lists two', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/referrers/${content.manifests[4].digest}`, {
          query: { artifactType: content.artifactTypeA },
        });
        assertStatus(response, 200);
        assertHeader(response, 'content-type', MEDIA_TYPES.imageIndex);
        // The suite accepts an unfiltered list when this header is absent. Berth filters.
        assertHeader(response, 'oci-filters-applied', 'artifactType');
        const expected = referrersOfSubject(content).filter((referrer) => referrer.artifactType === content.artifactTypeA);
        assertReferrers(response, content, expected);
      });

      test('absent subject lists its referrer', async () => {
        const { client, name, content } = context();
        const response = await client.request('GET', `/v2/${name}/referrers/${content.manifests[3].digest}`);
        assertStatus(response, 200);
        assertHeader(response, 'content-type', MEDIA_TYPES.imageIndex);
        const entries = parseIndexManifests(response);
        assert.equal(entries.length, 1, `expected one referrer\n${formatExchange(response)}`);
        assert.equal(entries[0]?.['digest'], content.artifactMissingSubject.digest, `referrer digest\n${formatExchange(response)}`);
      });
    });

    // The suite accepts 2xx, 404 or 405 for every teardown delete. Berth
    // deletes by digest with 202, removes a manifest's tags with it, and
    // returns 404 for anything already gone.
    describe('teardown', () => {
      const manifestDeletes: ReadonlyArray<readonly [string, (content: ConformanceContent) => string, number]> = [
        ['delete artifact index', (content) => content.artifactIndex.digest, 202],
        ['delete manifest 2', (content) => content.manifests[2].digest, 202],
        ['delete subject manifest', (content) => content.manifests[4].digest, 202],
        ['delete config-typed artifact A', (content) => content.artifactConfigA.digest, 202],
        ['delete layer-typed artifact A', (content) => content.artifactLayerA.digest, 202],
        ['delete tag of deleted manifest', () => DEFAULT_TAG, 404],
        ['delete config-typed artifact B', (content) => content.artifactConfigB.digest, 202],
        ['delete layer-typed artifact B', (content) => content.artifactLayerB.digest, 202],
        ['delete absent-subject artifact', (content) => content.artifactMissingSubject.digest, 202],
      ];
      for (const [title, reference, expected] of manifestDeletes) {
        test(title, async () => {
          const { client, name, content } = context();
          const response = await client.request('DELETE', `/v2/${name}/manifests/${reference(content)}`);
          assertStatus(response, expected);
        });
      }

      test('delete config blob 2', async () => {
        const { client, name, content } = context();
        assertStatus(await client.request('DELETE', `/v2/${name}/blobs/${content.configs[2].digest}`), 202);
      });

      test('delete layer blob', async () => {
        const { client, name, content } = context();
        assertStatus(await client.request('DELETE', `/v2/${name}/blobs/${content.layer.digest}`), 202);
      });

      test('repeat referrer deletes return 404', async () => {
        const { client, name, content } = context();
        const references = [
          content.artifactIndex.digest,
          content.artifactConfigA.digest,
          content.artifactLayerA.digest,
          content.manifests[4].digest,
          content.artifactConfigB.digest,
          content.artifactLayerB.digest,
        ];
        for (const reference of references) {
          assertStatus(await client.request('DELETE', `/v2/${name}/manifests/${reference}`), 404);
        }
      });

      test('delete referrer blobs', async () => {
        const { client, name, content } = context();
        const blobs = [content.configs[4], content.referrerBlobA, content.referrerBlobB, content.emptyJson];
        for (const blob of blobs) {
          assertStatus(await client.request('DELETE', `/v2/${name}/blobs/${blob.digest}`), 202);
        }
      });
    });
  });
}
