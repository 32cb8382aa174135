import { unknownRepository } from '../../registry/manifests.js';
import { sendJson, type RequestContext } from '../context.js';
import { finishPage, parsePage } from '../pagination.js';
import { repositoryName } from './base.js';

/** `GET /v2/<name>/tags/list`: tag names in ASCII order, paged with `n` and `last`. */
export async function getTags(ctx: RequestContext): Promise<void> {
  const repository = repositoryName(ctx);
  const page = parsePage(ctx);
  const { store } = ctx.services;
  const fetched = page.limit === 0 ? [] : await store.listTags(repository, { last: page.last, limit: page.limit + 1 });
  if (fetched.length === 0 && !(await store.repositoryExists(repository))) throw unknownRepository(repository);
  const tags = finishPage(ctx, page, fetched, `/v2/${repository}/tags/list`);
  sendJson(ctx, 200, { name: repository, tags });
}
