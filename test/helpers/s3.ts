import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  AbortMultipartUploadCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3-client.js';

/**
 * S3 endpoint the tests use: BERTH_TEST_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, as printed by
 * `eval "$(bash scripts/s3-up.sh)"`. Credentials come from the standard AWS variables.
 */
export const testS3Endpoint = process.env.BERTH_TEST_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL_S3;

/** Client settings for the test store: path-style addressing, region us-east-1. */
export const testS3Connection = {
  region: 'us-east-1',
  endpoint: testS3Endpoint,
  forcePathStyle: true,
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
};

/** Returns undefined when the test store responds, else the reason and how to start one. */
export async function s3Unavailable(): Promise<string | undefined> {
  const hint = 'start one with: eval "$(bash scripts/s3-up.sh)"';
  if (!testS3Endpoint) return `no S3 endpoint: BERTH_TEST_S3_ENDPOINT and AWS_ENDPOINT_URL_S3 are unset; ${hint}`;
  const client = createS3Client(testS3Connection);
  try {
    const bucket = await createTestBucket(client);
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    return undefined;
  } catch (error) {
    return `S3 at ${testS3Endpoint} is not usable (${(error as Error).name}: ${(error as Error).message}); ${hint}`;
  } finally {
    client.destroy();
  }
}

/** Throws under CI=true, where a missing store must fail the tests; returns the reason elsewhere. */
export async function requireS3(): Promise<string | undefined> {
  const reason = await s3Unavailable();
  if (reason && process.env.CI === 'true') throw new Error(`${reason} (CI=true, so a missing S3 store fails the tests)`);
  return reason;
}

/** Creates a bucket with a new random name and returns the name. */
export async function createTestBucket(client: S3Client): Promise<string> {
  const bucket = `berth-test-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Lists every key of `bucket`, aborted multipart uploads left out. */
export async function listAllKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const entry of page.Contents ?? []) if (entry.Key) keys.push(entry.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Lists the keys of multipart uploads still open in `bucket`. */
export async function listOpenUploads(client: S3Client, bucket: string): Promise<string[]> {
  const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (listing.Uploads ?? []).map((upload) => upload.Key as string);
}

/** Deletes every object and open multipart upload of `bucket`, then the bucket. */
export async function removeTestBucket(client: S3Client, bucket: string): Promise<void> {
  const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of listing.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  }
  for (const key of await listAllKeys(client, bucket)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
