import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { artifactManifest, emptyConfig, expectError, ociManifest, sha256 } from '../helpers/http.js';
import { useTestServer } from '../helpers/server.js';

describe('tags, catalog and referrers', () => {
  const fixture = useTestServer({ overrides: { 'limits.maxPageSize': '5', 'limits.defaultPageSize': '4' } });
  const tags = ['v1.10', 'v1.2', 'latest', 'A', 'Z_9', '0', 'a-b', 'a.b', 'a_b'];

  before(async () => {
    const image = await fixture.client.pushImage('list/tags', 'seed');
    for (const tag of tags) await fixture.client.pushManifest('list/tags', tag, image.text, ociManifest);
  });

  async function followPages(path: string, key: 'tags' | 'repositories'): Promise<{ items: string[]; pages: number }> {
    const items: string[] = [];
    let next: string | undefined = path;
    let pages = 0;
    while (next !== undefined && pages < 50) {
      const response = await fixture.client.fetch(next);
      assert.equal(response.status, 200);
      const body = (await response.json()) as Record<string, string[]>;
      items.push(...(body[key] ?? []));
      pages++;
      const link = response.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      if (link) assert.ok(next, `malformed Link header ${link}`);
    }
    return { items, pages };
  }

  test('tags in ASCII order', async () => {
    const response = await fixture.client.fetch('/v2/list/tags/tags/list?n=5');
    const body = (await response.json()) as { name: string; tags: string[] };
    assert.equal(body.name, 'list/tags');
    assert.deepEqual(body.tags, ['0', 'A', 'Z_9', 'a-b', 'a.b']);
  });

  test('last page has no Link', async () => {
    const response = await fixture.client.fetch('/v2/list/tags/tags/list?n=5&last=a.b');
    const body = (await response.json()) as { tags: string[] };
    assert.deepEqual(body.tags, ['a_b', 'latest', 'seed', 'v1.10', 'v1.2']);
    assert.equal(response.headers.get('link'), null);
  });

  test('tags page with n and last', async () => {
    const sorted = [...tags, 'seed'].sort();
    const first = await fixture.client.fetch('/v2/list/tags/tags/list?n=3');
    assert.deepEqual(((await first.json()) as { tags: string[] }).tags, sorted.slice(0, 3));
    assert.equal(first.headers.get('link'), `</v2/list/tags/tags/list?n=3&last=${encodeURIComponent(sorted[2] ?? '')}>; rel="next"`);
    const second = await fixture.client.fetch(`/v2/list/tags/tags/list?n=3&last=${sorted[2]}`);
    assert.deepEqual(((await second.json()) as { tags: string[] }).tags, sorted.slice(3, 6));
  });

  test('following Link returns every tag', async () => {
    const { items, pages } = await followPages('/v2/list/tags/tags/list?n=2', 'tags');
    assert.deepEqual(items, [...tags, 'seed'].sort());
    assert.equal(pages, 5);
  });

  test('default and maximum page size', async () => {
    const defaulted = await fixture.client.fetch('/v2/list/tags/tags/list');
    assert.equal(((await defaulted.json()) as { tags: string[] }).tags.length, 4);
    assert.match(defaulted.headers.get('link') ?? '', /n=4/);
    const clamped = await fixture.client.fetch('/v2/list/tags/tags/list?n=1000');
    assert.equal(((await clamped.json()) as { tags: string[] }).tags.length, 5);
    assert.match(clamped.headers.get('link') ?? '', /n=5/);
  });

  test('n=0 and last past end', async () => {
    const zero = await fixture.client.fetch('/v2/list/tags/tags/list?n=0');
    assert.deepEqual(await zero.json(), { name: 'list/tags', tags: [] });
    assert.equal(zero.headers.get('link'), null);
    const past = await fixture.client.fetch('/v2/list/tags/tags/list?last=zzzz');
    assert.deepEqual(await past.json(), { name: 'list/tags', tags: [] });
  });

  test('invalid n rejected', async () => {
    for (const n of ['-1', 'ten', '1.5', '1e3']) {
      await expectError(await fixture.client.fetch(`/v2/list/tags/tags/list?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
    }
  });

  test('huge n is lowered', async () => {
    const response = await fixture.client.fetch('/v2/list/tags/tags/list?n=99999999999999999999999');
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { tags: string[] }).tags.length, 5);
    assert.match(response.headers.get('link') ?? '', /n=5&/);
  });

  test('tags of unknown repository', async () => {
    await expectError(await fixture.client.fetch('/v2/list/unknown/tags/list'), 404, 'NAME_UNKNOWN');
  });

  test('empty tag list is array', async () => {
    const image = await fixture.client.pushImage('list/emptied', 'only');
    await fixture.client.fetch(`/v2/list/emptied/manifests/${image.digest}`, { method: 'DELETE' });
    const response = await fixture.client.fetch('/v2/list/emptied/tags/list');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '{"name":"list/emptied","tags":[]}');
  });

  test('catalog pages every repository', async () => {
    const { items } = await followPages('/v2/_catalog?n=2', 'repositories');
    assert.ok(items.includes('list/tags'));
    assert.ok(items.includes('list/emptied'));
    assert.deepEqual(items, [...items].sort());
    assert.equal(new Set(items).size, items.length);
  });

  test('catalog past end is empty array', async () => {
    const response = await fixture.client.fetch('/v2/_catalog?last=~');
    assert.equal(await response.text(), '{"repositories":[]}');
    await expectError(await fixture.client.fetch('/v2/_catalog?n=x'), 400, 'PAGINATION_NUMBER_INVALID');
  });

  test('referrers of a subject', async () => {
    const subject = await fixture.client.pushImage('list/ref', 'app');
    await fixture.client.pushBlob('list/ref', Buffer.from('{}'));
    const layer = await fixture.client.pushBlob('list/ref', Buffer.from('sbom'));
    const artifact = (artifactType: string | undefined, configMediaType: string, note: string): string =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: ociManifest,
        ...(artifactType ? { artifactType } : {}),
        config: { ...emptyConfig, mediaType: configMediaType },
        layers: [{ mediaType: 'application/octet-stream', digest: layer, size: 4 }],
        subject: { mediaType: ociManifest, digest: subject.digest, size: subject.size },
        annotations: { note },
      });
    const sbom = artifact('application/spdx+json', emptyConfig.mediaType, 'sbom');
    const signature = artifact(undefined, emptyConfig.mediaType, 'typed by config');
    await fixture.client.pushManifest('list/ref', sha256(sbom), sbom, ociManifest);
    await fixture.client.pushManifest('list/ref', sha256(signature), signature, ociManifest);

    const all = await fixture.client.fetch(`/v2/list/ref/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    assert.equal(all.headers.get('oci-filters-applied'), null);
    const index = (await all.json()) as { schemaVersion: number; mediaType: string; manifests: Record<string, unknown>[] };
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    const byDigest = new Map(index.manifests.map((entry) => [entry.digest, entry]));
    assert.equal(byDigest.size, 2);
    assert.deepEqual(byDigest.get(sha256(sbom)), {
      mediaType: ociManifest,
      digest: sha256(sbom),
      size: Buffer.byteLength(sbom),
      artifactType: 'application/spdx+json',
      annotations: { note: 'sbom' },
    });
    assert.equal(byDigest.get(sha256(signature))?.artifactType, emptyConfig.mediaType);

    const filtered = await fixture.client.fetch(`/v2/list/ref/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    const filteredIndex = (await filtered.json()) as { manifests: { digest: string }[] };
    assert.deepEqual(filteredIndex.manifests.map((entry) => entry.digest), [sha256(sbom)]);
  });

  test('referrers of unknown digest', async () => {
    const response = await fixture.client.fetch(`/v2/list/ref/referrers/${sha256('nothing refers')}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
    const unknownRepository = await fixture.client.fetch(`/v2/list/no-such-repo/referrers/${sha256('x')}`);
    assert.equal(unknownRepository.status, 200);
    await unknownRepository.arrayBuffer();
  });

  test('referrers with bad digest', async () => {
    await expectError(await fixture.client.fetch('/v2/list/ref/referrers/latest'), 400, 'DIGEST_INVALID');
    await expectError(await fixture.client.fetch('/v2/list/ref/referrers/sha256:123'), 400, 'DIGEST_INVALID');
  });

  test('deleted referrer disappears', async () => {
    const subject = await fixture.client.pushImage('list/refdel', 'app');
    await fixture.client.pushBlob('list/refdel', Buffer.from('{}'));
    const text = JSON.stringify(artifactManifest('application/example', subject));
    await fixture.client.pushManifest('list/refdel', sha256(text), text, ociManifest);
    assert.equal(((await (await fixture.client.fetch(`/v2/list/refdel/referrers/${subject.digest}`)).json()) as { manifests: unknown[] }).manifests.length, 1);
    await fixture.client.fetch(`/v2/list/refdel/manifests/${sha256(text)}`, { method: 'DELETE' });
    assert.equal(((await (await fixture.client.fetch(`/v2/list/refdel/referrers/${subject.digest}`)).json()) as { manifests: unknown[] }).manifests.length, 0);
  });
});
