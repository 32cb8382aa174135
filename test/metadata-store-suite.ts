import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ManifestRecord, MetadataStore } from '../src/metadata/store.js';

/** A store under test and how to dispose of everything it created. */
export interface StoreFixture {
  readonly store: MetadataStore;
  cleanup(): Promise<void>;
}

function digest(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

/** Builds a manifest record of `repository` with content made from `seed`; `fields` replaces fields. */
export function testManifest(repository: string, seed: string, fields: Partial<ManifestRecord> = {}): ManifestRecord {
  const content = Buffer.from(JSON.stringify({ schemaVersion: 2, seed }));
  return {
    repository,
    digest: `sha256:${createHash('sha256').update(content).digest('hex')}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    content,
    artifactType: null,
    subject: null,
    annotations: null,
    createdAt: Date.now(),
    ...fields,
  };
}

/**
 * The shared metadata-store suite: every store must pass it unchanged. `create` returns a
 * migrated store on an empty database for the whole suite; each test uses its own repositories.
 */
export function runMetadataStoreSuite(name: string, create: () => Promise<StoreFixture>): void {
  describe(`metadata store ${name}`, () => {
    let fixture: StoreFixture;
    let store: MetadataStore;
    let counter = 0;
    const repo = (): string => `suite/repo-${++counter}`;

    before(async () => {
      fixture = await create();
      store = fixture.store;
    });
    after(async () => {
      await fixture.cleanup();
    });

    test('migrate twice is harmless', async () => {
      await store.migrate();
      await store.ping();
    });

    test('blob record and link', async () => {
      const repository = repo();
      const blob = digest(`blob-${repository}`);
      assert.equal(await store.getBlob(blob), undefined);
      await store.putBlob(blob, 1234);
      await store.putBlob(blob, 1234);
      assert.deepEqual(await store.getBlob(blob), { size: 1234 });
      assert.equal(await store.getLinkedBlob(repository, blob), undefined);
      assert.equal(await store.repositoryExists(repository), false);
      await store.linkBlob(repository, blob);
      await store.linkBlob(repository, blob);
      assert.deepEqual(await store.getLinkedBlob(repository, blob), { size: 1234 });
      assert.equal(await store.repositoryExists(repository), true);
      assert.equal(await store.findRepositoryWithBlob(blob), repository);
      assert.deepEqual(await store.linkedBlobSizes(repository, [blob, digest('other'), blob]), new Map([[blob, 1234]]));
      assert.equal(await store.unlinkBlob(repository, blob), true);
      assert.equal(await store.unlinkBlob(repository, blob), false);
      assert.equal(await store.getLinkedBlob(repository, blob), undefined);
      assert.deepEqual(await store.getBlob(blob), { size: 1234 });
    });

    test('blob size beyond 32 bits', async () => {
      const blob = digest('huge');
      await store.putBlob(blob, 12 * 1024 ** 3);
      assert.deepEqual(await store.getBlob(blob), { size: 12 * 1024 ** 3 });
    });

    test('size lookups handle many digests', async () => {
      const repository = repo();
      const digests = Array.from({ length: 1200 }, (_, index) => digest(`many-${index}`));
      for (const [index, value] of digests.slice(0, 600).entries()) {
        await store.putBlob(value, index);
        await store.linkBlob(repository, value);
      }
      const sizes = await store.linkedBlobSizes(repository, digests);
      assert.equal(sizes.size, 600);
      assert.deepEqual([...sizes.keys()].sort(), digests.slice(0, 600).sort());
      assert.equal(sizes.get(digests[599] ?? ''), 599);
      assert.equal(sizes.has(digests[600] ?? ''), false);
    });

    test('manifest stored with tag', async () => {
      const repository = repo();
      const record = testManifest(repository, 'one', { annotations: { 'org.example': 'x' } });
      await store.putManifest(record, { blobs: [digest('config')], manifests: [] }, 'v1');
      const byDigest = await store.getManifest(repository, record.digest);
      assert.ok(byDigest);
      assert.deepEqual(byDigest.content, record.content);
      assert.equal(byDigest.mediaType, record.mediaType);
      assert.deepEqual(byDigest.annotations, { 'org.example': 'x' });
      const byTag = await store.getManifestByTag(repository, 'v1');
      assert.equal(byTag?.digest, record.digest);
      assert.equal(await store.getManifestByTag(repository, 'v2'), undefined);
      assert.deepEqual(await store.manifestSizes(repository, [record.digest, digest('x')]), new Map([[record.digest, record.content.length]]));
    });

    test('tag moves to new manifest', async () => {
      const repository = repo();
      const first = testManifest(repository, 'first');
      const second = testManifest(repository, 'second');
      await store.putManifest(first, { blobs: [], manifests: [] }, 'latest');
      await store.putManifest(second, { blobs: [], manifests: [] }, 'latest');
      assert.equal((await store.getManifestByTag(repository, 'latest'))?.digest, second.digest);
      assert.ok(await store.getManifest(repository, first.digest));
      await store.putManifest(first, { blobs: [], manifests: [] }, 'latest');
      assert.equal((await store.getManifestByTag(repository, 'latest'))?.digest, first.digest);
    });

    test('delete manifest removes its tags', async () => {
      const repository = repo();
      const record = testManifest(repository, 'deleted');
      const kept = testManifest(repository, 'kept');
      await store.putManifest(record, { blobs: [], manifests: [] }, 'a');
      await store.putManifest(record, { blobs: [], manifests: [] }, 'b');
      await store.putManifest(kept, { blobs: [], manifests: [] }, 'c');
      assert.equal(await store.deleteManifest(repository, record.digest), true);
      assert.equal(await store.deleteManifest(repository, record.digest), false);
      assert.equal(await store.getManifest(repository, record.digest), undefined);
      assert.deepEqual(await store.listTags(repository, { limit: 10 }), ['c']);
    });

    test('delete tag keeps manifest', async () => {
      const repository = repo();
      const record = testManifest(repository, 'tagged');
      await store.putManifest(record, { blobs: [], manifests: [] }, 'x');
      assert.equal(await store.deleteTag(repository, 'x'), true);
      assert.equal(await store.deleteTag(repository, 'x'), false);
      assert.ok(await store.getManifest(repository, record.digest));
      assert.deepEqual(await store.listTags(repository, { limit: 10 }), []);
    });

    test('tags page in ASCII order', async () => {
      const repository = repo();
      const record = testManifest(repository, 'paged');
      const tags = ['b', 'a', 'Z', '_x', '1.0', '1.10', '1.2', 'latest', 'A'];
      for (const tag of tags) await store.putManifest(record, { blobs: [], manifests: [] }, tag);
      const sorted = [...tags].sort();
      assert.deepEqual(await store.listTags(repository, { limit: 100 }), sorted);
      assert.deepEqual(await store.listTags(repository, { limit: 3 }), sorted.slice(0, 3));
      assert.deepEqual(await store.listTags(repository, { limit: 3, last: sorted[2] }), sorted.slice(3, 6));
      assert.deepEqual(await store.listTags(repository, { limit: 3, last: 'zzz' }), []);
    });

    test('repositories page in ASCII order', async () => {
      const names = ['suite/cat/b', 'suite/cat/a-b', 'suite/cat/a', 'suite/cat/a/b'];
      for (const value of names) await store.linkBlob(value, digest(value));
      const all = await store.listRepositories({ limit: 100_000 });
      const ours = all.filter((value) => value.startsWith('suite/cat/'));
      assert.deepEqual(ours, [...names].sort());
      const page = await store.listRepositories({ limit: 2, last: 'suite/cat/a' });
      assert.deepEqual(page, ['suite/cat/a-b', 'suite/cat/a/b']);
    });

    test('referrers by subject and type', async () => {
      const repository = repo();
      const subject = digest('subject');
      const sbom = testManifest(repository, 'sbom', { subject, artifactType: 'application/spdx+json', annotations: { k: 'v' } });
      const signature = testManifest(repository, 'sig', { subject, artifactType: 'application/vnd.cncf.notary.signature' });
      const unrelated = testManifest(repository, 'unrelated', { subject: digest('other') });
      for (const record of [sbom, signature, unrelated]) await store.putManifest(record, { blobs: [], manifests: [] });
      const all = await store.listReferrers(repository, subject);
      assert.deepEqual(all.map((entry) => entry.digest).sort(), [sbom.digest, signature.digest].sort());
      const filtered = await store.listReferrers(repository, subject, 'application/spdx+json');
      assert.equal(filtered.length, 1);
      assert.equal(filtered[0]?.digest, sbom.digest);
      assert.equal(filtered[0]?.artifactType, 'application/spdx+json');
      assert.deepEqual(filtered[0]?.annotations, { k: 'v' });
      assert.equal(filtered[0]?.size, sbom.content.length);
      assert.deepEqual(await store.listReferrers(repo(), subject), []);
    });

    test('upload session lifecycle', async () => {
      const repository = repo();
      const id = `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
      await store.createUpload(id, repository, 1_000);
      assert.deepEqual(await store.getUpload(id), { id, repository, size: 0, createdAt: 1_000, updatedAt: 1_000 });
      assert.equal(await store.advanceUpload(id, 0, 500, 2_000), true);
      assert.equal(await store.advanceUpload(id, 0, 900, 3_000), false);
      assert.equal((await store.getUpload(id))?.size, 500);
      assert.equal((await store.getUpload(id))?.updatedAt, 2_000);
      const stale = await store.listStaleUploads(2_500, 100);
      assert.ok(stale.some((entry) => entry.id === id));
      assert.ok(!(await store.listStaleUploads(1_500, 100)).some((entry) => entry.id === id));
      assert.equal(await store.deleteUpload(id), true);
      assert.equal(await store.deleteUpload(id), false);
      assert.equal(await store.getUpload(id), undefined);
      assert.equal(await store.advanceUpload(id, 500, 600, 4_000), false);
    });

    test('listings for copying a registry', async () => {
      const repository = repo();
      const blobs = [digest(`${repository}-x`), digest(`${repository}-y`), digest(`${repository}-z`)].sort();
      for (const blob of blobs) {
        await store.putBlob(blob, 10);
        await store.linkBlob(repository, blob);
      }
      const records = [testManifest(repository, 'm1'), testManifest(repository, 'm2')];
      await store.putManifest(records[0] as ManifestRecord, { blobs, manifests: [] }, 'b-tag');
      await store.putManifest(records[1] as ManifestRecord, { blobs: [], manifests: [] }, 'a-tag');

      const firstPage = await store.listRepositoryBlobs(repository, { limit: 2 });
      assert.deepEqual(firstPage, blobs.slice(0, 2));
      assert.deepEqual(await store.listRepositoryBlobs(repository, { limit: 2, last: firstPage[1] }), blobs.slice(2));
      const all = await store.listBlobs({ limit: 100_000 });
      for (const blob of blobs) assert.ok(all.some((entry) => entry.digest === blob && entry.size === 10));
      const afterFirst = await store.listBlobs({ limit: 1, last: blobs[0] });
      assert.ok((afterFirst[0]?.digest ?? '') > (blobs[0] as string));

      const listed = await store.listManifests(repository, { limit: 10 });
      assert.deepEqual(listed.map((entry) => entry.digest), records.map((entry) => entry.digest).sort());
      assert.deepEqual(listed.find((entry) => entry.digest === records[0]?.digest)?.content, records[0]?.content);
      assert.deepEqual(await store.listTagTargets(repository, { limit: 10 }), [
        { name: 'a-tag', digest: records[1]?.digest },
        { name: 'b-tag', digest: records[0]?.digest },
      ]);
      assert.deepEqual(await store.listTagTargets(repository, { limit: 10, last: 'a-tag' }), [{ name: 'b-tag', digest: records[0]?.digest }]);
    });

    test('upload lease take, renew and release', async () => {
      const id = `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
      await store.createUpload(id, repo(), 1_000);
      assert.equal(await store.leaseUpload(id, 'node-a', 5_000, 1_000), true);
      assert.equal(await store.leaseUpload(id, 'node-b', 5_000, 2_000), false);
      assert.equal(await store.leaseUpload(id, 'node-a', 9_000, 4_000), true);
      assert.equal(await store.leaseUpload(id, 'node-b', 12_000, 8_000), false);
      await store.releaseUpload(id, 'node-b');
      assert.equal(await store.leaseUpload(id, 'node-b', 12_000, 8_000), false);
      await store.releaseUpload(id, 'node-a');
      assert.equal(await store.leaseUpload(id, 'node-b', 12_000, 8_000), true);
    });

    test('expired upload lease is taken over', async () => {
      const id = `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
      await store.createUpload(id, repo(), 1_000);
      assert.equal(await store.leaseUpload(id, 'node-a', 5_000, 1_000), true);
      assert.equal(await store.leaseUpload(id, 'node-b', 15_000, 6_000), true);
      assert.equal(await store.leaseUpload(id, 'node-a', 16_000, 7_000), false);
      assert.equal(await store.leaseUpload('00000000-0000-4000-8000-999999999999', 'node-a', 5_000, 1_000), false);
    });

    test('concurrent manifest puts of one tag', async () => {
      const repository = repo();
      const records = Array.from({ length: 10 }, (_, index) => testManifest(repository, `race-${index}`));
      await Promise.all(records.map((record) => store.putManifest(record, { blobs: [], manifests: [] }, 'race')));
      const winner = await store.getManifestByTag(repository, 'race');
      assert.ok(winner);
      assert.ok(records.some((record) => record.digest === winner.digest));
      assert.deepEqual(await store.listTags(repository, { limit: 10 }), ['race']);
    });
  });
}
