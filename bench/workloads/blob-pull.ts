/**
 * Pulls of one big blob that was pushed untimed when the registry started. The
 * content is checked once against its digest (untimed). Timed pulls run curl with the body
 * sent to /dev/null and check the status, the length and the Docker-Content-Digest header.
 * curl leaves more of the two cores to the server than a Node client would, and hashing in
 * the client would take CPU from the server too. After the first pull the blob is in the
 * page cache, so the workload measures serving from memory, not from disk.
 */
import { createHash } from 'node:crypto';
import { run } from '../../test/helpers/tools.js';
import { pushMonolithic } from '../oci.js';
import { MIB } from '../stats.js';
import { formatBytes } from '../table.js';
import { toolPath } from '../tools.js';
import type { Workload } from './types.js';

/** curl --write-out format: status, body length and the Docker-Content-Digest header (curl 7.84 or later). */
const CURL_FORMAT = '%{http_code} %{size_download} %header{docker-content-digest}';

/** Blob pull: `GET /v2/<repo>/blobs/<digest>` of a big blob, several times per repetition. */
export const blobPull: Workload = {
  id: 'pull',
  title: 'blob pull',
  detail: (settings) => `${settings.pullsPerRepetition} sequential GETs by curl of one ${formatBytes(settings.pullBytes)} blob per repetition`,
  freshServersEachRepetition: false,
  transfersBlobs: true,
  metrics: [{ key: 'mibPerSecond', label: 'throughput', unit: 'MiB/s', better: 'higher', digits: 1 }],
  blobSizes: (settings) => [settings.pullBytes],
  async start(context, target) {
    const repository = 'bench/pull';
    const blob = context.content.freshBlob(context.settings.pullBytes);
    await pushMonolithic(target.client, repository, blob);
    const path = `/v2/${repository}/blobs/${blob.digest}`;

    const hash = createHash('sha256');
    const verification = await target.client.request('GET', path, {
      expect: [200],
      discardBody: true,
      onBodyChunk: (chunk) => hash.update(chunk),
    });
    const received = `sha256:${hash.digest('hex')}`;
    if (received !== blob.digest) {
      throw new Error(
        `GET ${path}: body has digest ${received} (${verification.bodyBytes} bytes), expected ${blob.digest} (${blob.size} bytes)`,
      );
    }

    return {
      async run(_repetition, recorder) {
        const pulls = context.settings.pullsPerRepetition;
        const curl = toolPath(context.tools, 'curl');
        const url = `${target.server.url}${path}`;
        const { seconds } = await recorder.measure(async () => {
          for (let pull = 0; pull < pulls; pull += 1) {
            const { stdout } = await run(curl, ['--silent', '--show-error', '--output', '/dev/null', '--write-out', CURL_FORMAT, url]);
            const expected = `200 ${blob.size} ${blob.digest}`;
            if (stdout.trim() !== expected) {
              throw new Error(`curl ${url}: received "status size digest" ${stdout.trim()}, expected ${expected}`);
            }
          }
        });
        return { mibPerSecond: (pulls * blob.size) / MIB / seconds };
      },
    };
  },
};
