/** Entries per page when a copy or a check walks the metadata store. */
export const pageSize = 500;

/**
 * Yields every entry of a paged listing. `fetchPage` returns up to {@link pageSize} entries after
 * the cursor `last`, and `key` gives the cursor of an entry.
 */
export async function* pages<T>(fetchPage: (last: string | undefined) => Promise<T[]>, key: (entry: T) => string): AsyncGenerator<T> {
  let last: string | undefined;
  for (;;) {
    const page = await fetchPage(last);
    yield* page;
    if (page.length < pageSize) return;
    last = key(page[page.length - 1] as T);
  }
}
