import { validateName } from '../../oci/names.js';
import { sendJson, type RequestContext } from '../context.js';

/** Returns the validated repository name of a route with a `name` part; throws NAME_INVALID. */
export function repositoryName(ctx: RequestContext): string {
  const name = ctx.params.name ?? '';
  validateName(name);
  return name;
}

/** `GET /v2/`: returns 200 so clients detect a registry that implements the V2 API. */
export function getBase(ctx: RequestContext): void {
  sendJson(ctx, 200, {});
}

/** `GET /healthz`: the process is alive and serving HTTP. */
export function getHealth(ctx: RequestContext): void {
  sendJson(ctx, 200, { status: 'ok' });
}

/** `GET /readyz`: returns 200 while the storage driver and the metadata database respond, else 503 naming the failing one. */
export async function getReady(ctx: RequestContext): Promise<void> {
  const { driver, store } = ctx.services;
  const checks = await Promise.all([
    check(`storage:${driver.name}`, () => driver.ping()),
    check(`metadata:${store.name}`, () => store.ping()),
  ]);
  const ready = checks.every((entry) => entry.ok);
  if (!ready) ctx.log.warn({ checks }, 'readiness check failed');
  sendJson(ctx, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks });
}

/** Time a readiness probe gets before its component counts as failed, in milliseconds. */
const probeTimeoutMs = 5_000;

async function check(component: string, probe: () => Promise<void>): Promise<{ component: string; ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${probeTimeoutMs / 1000} s`)), probeTimeoutMs);
  });
  try {
    await Promise.race([probe(), deadline]);
    return { component, ok: true };
  } catch (error) {
    return { component, ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
