/**
 * Many tags on one manifest, then listing them page by page. Every tag PUT
 * sends the same manifest, so this measures the deduplicated path on purpose: the cost of
 * adding a tag, not of storing content. Each repetition uses a new repository.
 */
import { listTags, pushMonolithic, putManifest, smallImage } from '../oci.js';
import { median } from '../stats.js';
import { runPool } from './types.js';
import type { Workload } from './types.js';

/** Bytes of the layer of the tagged image. */
const LAYER_BYTES = 4096;

/** Returns the name of tag `index`, zero-padded so that lexical and numeric order agree. */
function tagName(index: number): string {
  return `t${String(index).padStart(6, '0')}`;
}

/** Tag PUTs at a fixed concurrency, then `GET tags/list?n=` following Link headers. */
export const tagsWorkload: Workload = {
  id: 'tags',
  title: 'tags',
  detail: (settings) =>
    `${settings.tagCount} tag PUTs of one manifest, ${settings.tagConcurrency} concurrent; then GET tags/list?n=${settings.tagPageSize} ` +
    `following Link, median of ${settings.listPasses} listings per repetition`,
  freshServersEachRepetition: false,
  transfersBlobs: false,
  metrics: [
    { key: 'putSeconds', label: 'tag PUTs', unit: 's', better: 'lower', digits: 2 },
    { key: 'listMs', label: 'list all tags', unit: 'ms', better: 'lower', digits: 1 },
    { key: 'listPages', label: 'pages per listing', unit: 'pages', better: 'neither', digits: 0 },
    { key: 'listLargestPage', label: 'largest page', unit: 'tags', better: 'neither', digits: 0 },
  ],
  blobSizes: () => [],
  async start(context, target) {
    const { tagCount, tagConcurrency, tagPageSize, listPasses } = context.settings;
    const image = smallImage(LAYER_BYTES);
    const expected = Array.from({ length: tagCount }, (_, index) => tagName(index));
    // A registry that honours n needs ceil(count / n) pages. The bound leaves room for a
    // registry that returns shorter pages, but stops a Link loop.
    const maxPages = 2 * Math.ceil(tagCount / tagPageSize) + 10;

    return {
      async run(repetition, recorder) {
        const repository = `bench/tags-${repetition}`;
        // Only the blobs are pushed untimed, so that the listing contains exactly the timed tags.
        for (const blob of image.blobs) {
          await pushMonolithic(target.client, repository, blob);
        }

        const puts = await recorder.measure(() =>
          runPool(tagCount, tagConcurrency, (index) => putManifest(target.client, repository, tagName(index), image.manifest)),
        );

        const passes: number[] = [];
        let pages = 0;
        let largestPage = 0;
        for (let pass = 0; pass < listPasses; pass += 1) {
          const listing = await recorder.measure(() => listTags(target.client, repository, tagPageSize, maxPages));
          checkTagListing(repository, listing.value.tags, expected);
          passes.push(listing.seconds * 1000);
          pages = listing.value.pages;
          largestPage = listing.value.largestPage;
        }
        return { putSeconds: puts.seconds, listMs: median(passes), listPages: pages, listLargestPage: largestPage };
      },
    };
  },
};

/** Throws unless `received` contains every tag of `expected` exactly once and nothing else. */
export function checkTagListing(repository: string, received: readonly string[], expected: readonly string[]): void {
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const tag of received) {
    if (seen.has(tag)) {
      duplicates.push(tag);
    }
    seen.add(tag);
  }
  const expectedSet = new Set(expected);
  const missing = expected.filter((tag) => !seen.has(tag));
  const unexpected = [...seen].filter((tag) => !expectedSet.has(tag));
  if (duplicates.length > 0 || missing.length > 0 || unexpected.length > 0) {
    throw new Error(
      `tag listing of ${repository} is wrong: ${received.length} tags received, ${expected.length} expected; ` +
        `${duplicates.length} duplicated (first: ${duplicates.slice(0, 5).join(', ')}), ` +
        `${missing.length} missing (first: ${missing.slice(0, 5).join(', ')}), ` +
        `${unexpected.length} unexpected (first: ${unexpected.slice(0, 5).join(', ')})`,
    );
  }
}
