import { sendJson, type RequestContext } from '../context.js';
import { finishPage, parsePage } from '../pagination.js';

/** `GET /v2/_catalog`: repository names in ASCII order, paged with `n` and `last`. */
export async function getCatalog(ctx: RequestContext): Promise<void> {
  const page = parsePage(ctx);
  const fetched = page.limit === 0 ? [] : await ctx.services.store.listRepositories({ last: page.last, limit: page.limit + 1 });
  const repositories = finishPage(ctx, page, fetched, '/v2/_catalog');
  sendJson(ctx, 200, { repositories });
}
