/**
 * Starts the registries of the --s3 mode: berth with its metadata in a new PostgreSQL schema
 * and Distribution, each with blobs in a new bucket of the same S3 store. With several nodes,
 * each registry runs as that many processes on its shared schema and bucket behind its own
 * nginx. Stopping a registry stops its processes, then drops its schema and deletes its bucket.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { startBalancer } from './balancer.js';
import type { Balancer } from './balancer.js';
import type { RegistryStarter, StartedRegistry } from './compare.js';
import { dropSchema, newSchemaName } from './postgres-schema.js';
import { createBenchBucket, deleteBucket, S3_REGION } from './s3-store.js';
import type { S3Store } from './s3-store.js';
import { startBerth, startDistribution } from './servers.js';
import type { RegistryName, RegistryServer } from './servers.js';
import { toolPath } from './tools.js';
import type { ToolPaths } from './tools.js';

/** The shared backends and the shape of the registries that an S3 starter starts. */
export interface S3Deployment {
  repositoryRoot: string;
  /** Directory under which each start gets its own directory (node data, configurations, nginx). */
  serversDir: string;
  tools: ToolPaths;
  store: S3Store;
  /** Client of `store`, which creates and deletes the buckets. */
  s3: S3Client;
  postgresUrl: string;
  /** Processes per registry; more than one puts nginx in front of them. */
  nodes: number;
}

/** Deletions of the schemas and buckets of registries that have not been stopped yet. */
const pendingDeletions = new Set<() => Promise<void>>();
/** Set by deleteLeftoverStorage, after which no registry starts, so that no new bucket escapes the deletion. */
let closed = false;

/**
 * Drops the schemas and deletes the buckets of registries that were started but not stopped,
 * for an interrupted run whose server processes are already killed. Gives up after `timeoutMs`.
 */
export async function deleteLeftoverStorage(timeoutMs: number): Promise<void> {
  closed = true;
  const deletions = Promise.allSettled([...pendingDeletions].map((deletion) => deletion()));
  await Promise.race([deletions, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}

/** Returns a starter that starts each registry on a new bucket (and for berth a new schema) at `deployment.nodes` nodes. */
export function s3Starter(deployment: S3Deployment): RegistryStarter {
  return async (name, label) => {
    if (closed) {
      throw new Error(`not starting ${name} for ${label}: the run is stopping`);
    }
    const directory = join(deployment.serversDir, `${label}-${name}`);
    const bucket = await createBenchBucket(deployment.s3, name === 'berth' ? 'berth' : 'distribution');
    const schema = name === 'berth' ? newSchemaName() : undefined;
    const nodes: RegistryServer[] = [];
    let balancer: Balancer | undefined;
    const deleteStorage = async (): Promise<void> => {
      pendingDeletions.delete(deleteStorage);
      if (schema !== undefined) {
        await dropSchema(deployment.postgresUrl, schema);
      }
      await deleteBucket(deployment.s3, bucket);
      await rm(directory, { recursive: true, force: true });
    };
    pendingDeletions.add(deleteStorage);
    const stopAndDelete = async (): Promise<void> => {
      await balancer?.stop();
      for (const node of nodes) {
        await node.stop();
      }
      await deleteStorage();
    };

    try {
      const secret = randomBytes(16).toString('hex');
      for (let index = 0; index < deployment.nodes; index += 1) {
        const nodeDir = join(directory, `node-${index}`);
        nodes.push(
          name === 'berth'
            ? await startBerth(deployment.repositoryRoot, nodeDir, [], berthConfiguration(deployment, bucket, schema as string))
            : await startDistribution(toolPath(deployment.tools, 'docker-registry'), nodeDir, {
                storageDriver: distributionStorage(deployment.store, bucket),
                secret,
              }),
        );
      }
      if (deployment.nodes > 1) {
        balancer = await startBalancer(
          toolPath(deployment.tools, 'nginx'),
          join(directory, 'nginx'),
          nodes.map((node) => node.host),
        );
      }
    } catch (error) {
      await stopAndDelete();
      throw error;
    }
    return { server: combine(name, directory, nodes, balancer), stopAndDelete } satisfies StartedRegistry;
  };
}

/** Returns the BERTH_* variables that put berth's metadata in `schema` and its blobs in `bucket`. */
function berthConfiguration(deployment: S3Deployment, bucket: string, schema: string): Record<string, string> {
  return {
    BERTH_METADATA_DRIVER: 'postgres',
    BERTH_METADATA_POSTGRES_URL: deployment.postgresUrl,
    BERTH_METADATA_POSTGRES_SCHEMA: schema,
    BERTH_STORAGE_DRIVER: 's3',
    BERTH_STORAGE_S3_BUCKET: bucket,
    BERTH_STORAGE_S3_ENDPOINT: deployment.store.endpoint,
    BERTH_STORAGE_S3_REGION: S3_REGION,
    BERTH_STORAGE_S3_FORCE_PATH_STYLE: 'true',
    BERTH_STORAGE_S3_ACCESS_KEY_ID: deployment.store.accessKeyId,
    BERTH_STORAGE_S3_SECRET_ACCESS_KEY: deployment.store.secretAccessKey,
  };
}

/**
 * Returns the `storage:` lines of Distribution 2.8.2 for `bucket`. That version has no
 * `forcepathstyle` key and ignores it: with `regionendpoint` set, its S3 driver always uses
 * path-style requests, which Ceph needs. Redirects of blob GETs to presigned S3 URLs are
 * turned off, so Distribution serves blobs itself, as berth does by default.
 */
function distributionStorage(store: S3Store, bucket: string): string[] {
  return [
    '  s3:',
    `    regionendpoint: ${JSON.stringify(store.endpoint)}`,
    `    region: ${S3_REGION}`,
    `    bucket: ${JSON.stringify(bucket)}`,
    `    accesskey: ${JSON.stringify(store.accessKeyId)}`,
    `    secretkey: ${JSON.stringify(store.secretAccessKey)}`,
    `    secure: ${store.endpoint.startsWith('https:')}`,
    '    v4auth: true',
    '  redirect:',
    '    disable: true',
  ];
}

/** Presents the nodes (and the balancer in front of them) as one registry. */
function combine(name: RegistryName, directory: string, nodes: readonly RegistryServer[], balancer: Balancer | undefined): RegistryServer {
  const first = nodes[0];
  if (first === undefined) {
    throw new Error('a registry needs at least one node');
  }
  const front = balancer ?? first;
  return {
    name,
    url: front.url,
    host: front.host,
    pid: first.pid,
    pids: nodes.map((node) => node.pid),
    ...(balancer !== undefined && { balancerPids: balancer.pids }),
    dataDir: directory,
    output: () => {
      const parts = nodes.map((node, index) => [`node ${index} (PID ${node.pid})`, node.output().slice(-4000)]);
      if (balancer !== undefined) {
        parts.push([`nginx (PID ${balancer.pid}) error log`, balancer.errorLogTail(2000)]);
      }
      return parts
        .filter(([, text]) => (text as string).trim() !== '')
        .map(([title, text]) => `--- ${title} ---\n${text}`)
        .join('\n');
    },
    hasExited: () => nodes.some((node) => node.hasExited()) || balancer?.hasExited() === true,
    async stop() {
      await balancer?.stop();
      for (const node of nodes) {
        await node.stop();
      }
    },
  };
}
