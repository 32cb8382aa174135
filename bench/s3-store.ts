/**
 * The S3 store of the --s3 mode: its settings from the standard AWS variables, and buckets
 * that the benchmark creates for one server start and deletes with everything in them.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/storage/s3-client.js';

/** Region the requests are signed for. Ceph 16 rejects CreateBucket with a LocationConstraint, which the SDK sends for other regions. */
export const S3_REGION = 'us-east-1';

/** Endpoint and static credentials of the S3 store. */
export interface S3Store {
  /** Endpoint URL, such as `http://127.0.0.1:7480`. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Raised when the S3 variables are missing; the message names the command that starts a local store. */
export class S3SetupError extends Error {}

/**
 * Reads the store from AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
 * Throws S3SetupError naming the missing variables and the command that starts a local store.
 */
export function s3StoreFromEnvironment(env: NodeJS.ProcessEnv = process.env): S3Store {
  const names = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
  const missing = names.filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) {
    throw new S3SetupError(
      `--s3 needs an S3 store, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: ` +
        'start the local Ceph store and load its settings with: eval "$(bash scripts/s3-up.sh)"',
    );
  }
  return {
    endpoint: env.AWS_ENDPOINT_URL_S3 as string,
    accessKeyId: env.AWS_ACCESS_KEY_ID as string,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
  };
}

/** Returns a client of `store` with path-style addressing, as self-hosted stores such as Ceph need. */
export function s3Client(store: S3Store): S3Client {
  return createS3Client({
    region: S3_REGION,
    endpoint: store.endpoint,
    forcePathStyle: true,
    accessKeyId: store.accessKeyId,
    secretAccessKey: store.secretAccessKey,
  });
}

/** Creates a bucket named `berth-bench-PREFIX-<12 random hex digits>` and returns its name. */
export async function createBenchBucket(client: S3Client, prefix: string): Promise<string> {
  const bucket = `berth-bench-${prefix}-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Keys per DeleteObjects request, the maximum that S3 accepts. */
const DELETE_BATCH = 1000;

/**
 * Aborts every open multipart upload in `bucket`, deletes every object, then the bucket.
 * Throws when S3 reports a key it could not delete.
 */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const upload of page.Uploads ?? []) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    if (page.IsTruncated !== true) {
      break;
    }
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }

  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: DELETE_BATCH }));
    const keys = (page.Contents ?? []).flatMap((entry) => (entry.Key === undefined ? [] : [{ Key: entry.Key }]));
    if (keys.length > 0) {
      const result = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      const errors = result.Errors ?? [];
      if (errors.length > 0) {
        const first = errors[0];
        throw new Error(`DeleteObjects in bucket ${bucket} failed for ${errors.length} keys, first ${first?.Key}: ${first?.Code} ${first?.Message}`);
      }
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);

  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
