/**
 * The `skopeo copy` of a real image, a Debian bookworm minbase root filesystem built
 * by the project's test image builder, from an OCI layout into the registry and back into a
 * new OCI layout. The content is the same in every repetition, so each repetition runs on
 * newly started registries with empty storage, where no blob exists yet.
 * NOTE: skopeo keeps a blob info cache in /var/lib/containers/cache that the benchmark cannot
 * relocate. Each repetition's registries listen on new ports, so the cache entries name other
 * registries and skopeo finds no blob to mount or skip.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createContainersEnv } from '../../test/e2e/containers-env.js';
import { buildDebianLayout, REF_NAME_ANNOTATION } from '../../test/helpers/images.js';
import type { DebianLayout } from '../../test/helpers/images.js';
import { run } from '../../test/helpers/tools.js';
import { checkManifest } from '../oci.js';
import { toolPath } from '../tools.js';
import type { RunContext, Workload } from './types.js';

const IMAGE_REF = 'debian:minbase';
const SKOPEO_TIMEOUT_MS = 600_000;

let layoutBuild: { scratchDir: string; layout: Promise<DebianLayout> } | undefined;

/** Builds the Debian layout once per run (untimed); the builder caches the root filesystem layer. */
function debianLayout(context: RunContext): Promise<DebianLayout> {
  if (layoutBuild?.scratchDir !== context.scratchDir) {
    layoutBuild = { scratchDir: context.scratchDir, layout: buildDebianLayout(join(context.scratchDir, 'debian-layout')) };
  }
  return layoutBuild.layout;
}

/** The skopeo copy of a Debian minbase image into the registry and back. */
export const skopeoCopy: Workload = {
  id: 'skopeo',
  title: 'skopeo copy, Debian minbase',
  detail: () => 'skopeo copy of a debootstrap bookworm minbase image (2 gzip layers) from an OCI layout to the registry, then back',
  freshServersEachRepetition: true,
  transfersBlobs: true,
  metrics: [
    { key: 'pushSeconds', label: 'push (layout to registry)', unit: 's', better: 'lower', digits: 2 },
    { key: 'pullSeconds', label: 'pull (registry to layout)', unit: 's', better: 'lower', digits: 2 },
  ],
  blobSizes: () => [],
  async start(context, target) {
    const layout = await debianLayout(context);
    const manifestDigest = layout.refs[IMAGE_REF];
    if (manifestDigest === undefined) {
      throw new Error(`the Debian layout in ${layout.dir} has no ref ${IMAGE_REF}`);
    }
    const sessionDir = join(context.scratchDir, `skopeo-${target.server.name}-${target.server.host.replace(':', '-')}`);
    const env = await createContainersEnv(join(sessionDir, 'containers'), [target.server.host]);
    const skopeo = toolPath(context.tools, 'skopeo');

    return {
      async run(repetition, recorder) {
        const repository = `bench/debian-${repetition}`;
        const remote = `docker://${target.server.host}/${repository}:minbase`;
        const pulledDir = join(sessionDir, `pulled-${repetition}`);
        await mkdir(sessionDir, { recursive: true });

        const push = await recorder.measure(() =>
          run(skopeo, ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout.dir}:${IMAGE_REF}`, remote], {
            env,
            timeoutMs: SKOPEO_TIMEOUT_MS,
          }),
        );
        await checkManifest(target.client, repository, 'minbase', manifestDigest);

        const pull = await recorder.measure(() =>
          run(skopeo, ['copy', '--quiet', '--src-tls-verify=false', remote, `oci:${pulledDir}:${IMAGE_REF}`], {
            env,
            timeoutMs: SKOPEO_TIMEOUT_MS,
          }),
        );
        const pulledDigest = await layoutRefDigest(pulledDir, IMAGE_REF);
        if (pulledDigest !== manifestDigest) {
          throw new Error(`skopeo pulled ${remote} as manifest ${String(pulledDigest)}, expected ${manifestDigest}`);
        }
        await rm(pulledDir, { recursive: true, force: true });
        return { pushSeconds: push.seconds, pullSeconds: pull.seconds };
      },
      async close() {
        await rm(sessionDir, { recursive: true, force: true });
      },
    };
  },
};

/** Returns the manifest digest that index.json of an OCI layout names `ref`. */
async function layoutRefDigest(dir: string, ref: string): Promise<string | undefined> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests?: { digest: string; annotations?: Record<string, string> }[];
  };
  return index.manifests?.find((entry) => entry.annotations?.[REF_NAME_ANNOTATION] === ref)?.digest;
}
