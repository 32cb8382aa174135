import type { RequestContext } from './context.js';

/** Access a route needs on its repository, for access control. */
export type Access = 'none' | 'pull' | 'push' | 'delete' | 'catalog';

/** A handler of one route. It writes the response, or throws a RegistryError. */
export type Handler = (ctx: RequestContext) => Promise<void> | void;

/** One row of the route table. `pattern` captures named groups that become `ctx.params`. */
export interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
  readonly access: Access;
}

/** Result of looking a request up in the route table. */
export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allowed: string[] }
  | { readonly kind: 'not-found' };

/**
 * Finds the route for a method and path. HEAD falls back to the GET route when no HEAD route
 * is listed. A path that matches only routes of other methods gives the allowed methods.
 */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  let fallback: { route: Route; params: Record<string, string> } | undefined;
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const params = { ...match.groups };
    if (route.method === method) return { kind: 'found', route, params };
    if (method === 'HEAD' && route.method === 'GET') fallback = { route, params };
    allowed.push(route.method);
  }
  if (fallback) return { kind: 'found', ...fallback };
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed: [...new Set(allowed)] } : { kind: 'not-found' };
}
