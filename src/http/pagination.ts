import { RegistryError } from '../errors.js';
import type { RequestContext } from './context.js';

/** A page request parsed from `n` and `last`. `limit` is already clamped to the configured maximum. */
export interface Page {
  readonly limit: number;
  readonly last?: string | undefined;
}

/** Parses `n` and `last`; throws PAGINATION_NUMBER_INVALID for an `n` that is not a non-negative integer. */
export function parsePage(ctx: RequestContext): Page {
  const { defaultPageSize, maxPageSize } = ctx.services.config.limits;
  const n = ctx.query.get('n');
  const last = ctx.query.get('last') ?? undefined;
  if (n === null || n === '') return { limit: defaultPageSize, last };
  if (!/^\d+$/.test(n)) {
    throw new RegistryError(
      'PAGINATION_NUMBER_INVALID',
      `invalid page size n=${n.slice(0, 40)}: expected a non-negative integer (values above ${maxPageSize} are lowered to ${maxPageSize})`,
      { detail: { n: n.slice(0, 40) } },
    );
  }
  return { limit: Math.min(Number(n), maxPageSize), last };
}

/**
 * Returns one page of `names` (fetched with one extra entry to learn whether more remain) and
 * sets the `Link: <...>; rel="next"` header when they do.
 */
export function finishPage(ctx: RequestContext, page: Page, fetched: string[], path: string): string[] {
  const items = fetched.slice(0, page.limit);
  const lastItem = items[items.length - 1];
  if (fetched.length > page.limit && lastItem !== undefined) {
    const next = new URLSearchParams({ n: String(page.limit), last: lastItem });
    ctx.res.setHeader('Link', `<${path}?${next.toString()}>; rel="next"`);
  }
  return items;
}
