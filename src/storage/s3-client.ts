import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { BackendUnavailableError } from '../errors.js';

/** Connection settings of the S3 driver, as in the `storage.s3` configuration section. */
export interface S3ConnectionOptions {
  readonly region: string;
  /** Endpoint of an S3-compatible store; AWS when undefined. */
  readonly endpoint?: string | undefined;
  readonly forcePathStyle: boolean;
  /** Static credentials; the SDK's standard sources (environment, files) when undefined. */
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  /** Time a connection may stay silent (while connecting or during a request) before the request fails, in seconds. */
  readonly timeoutSeconds?: number | undefined;
}

// NOTE: AWS SDK releases after the first week of January 2027 require Node.js 22, and the SDK
// warns about that once per process on Node.js 20. The lock file pins a release that runs on 20.
// The warning gives a registry operator nothing to act on, so it is kept out of the server's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * Creates an S3 client for `options`. Request checksums are sent only where the API requires
 * them, because stores such as Ceph 16 reject the SDK's default streaming checksums.
 */
export function createS3Client(options: S3ConnectionOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle,
    ...(options.accessKeyId !== undefined &&
      options.secretAccessKey !== undefined && {
        credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    // Without these, a store that goes silent on an open connection stalls a request forever.
    requestHandler: { connectionTimeout: (options.timeoutSeconds ?? 10) * 1000, socketTimeout: (options.timeoutSeconds ?? 10) * 1000 },
  });
}

/** Returns true when an S3 call failed because the key, or the multipart upload, does not exist. */
export function isMissing(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.name === 'NoSuchUpload' || error.$metadata.httpStatusCode === 404;
}

/** Node.js socket errors of a store that cannot be reached. */
const socketErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Turns a failure to reach the store (refused or cut connections, timeouts, 5xx responses) into
 * BackendUnavailableError, so clients get 503 and retry. Returns any other error unchanged.
 */
export function classifyS3Error(error: unknown, bucket: string): unknown {
  if (error instanceof BackendUnavailableError) return error;
  const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
  const misconfigured = misconfiguration(error, status, bucket);
  if (misconfigured) return new BackendUnavailableError(misconfigured, { cause: error });
  const code = (error as { code?: unknown } | undefined)?.code;
  const name = (error as { name?: unknown } | undefined)?.name;
  const unreachable =
    (status !== undefined && status >= 500) ||
    (typeof code === 'string' && socketErrors.has(code)) ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout';
  if (!unreachable) return error;
  const reason = error instanceof Error ? error.message || error.name : String(error);
  return new BackendUnavailableError(`object store bucket ${bucket} is unreachable (${reason})`, { cause: error });
}

/**
 * Describes an S3 failure that no retry fixes because the configuration is wrong (missing bucket,
 * rejected credentials), or returns undefined for any other failure.
 */
function misconfiguration(error: unknown, status: number | undefined, bucket: string): string | undefined {
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === 'NoSuchBucket') {
    return `object store bucket ${bucket} does not exist: create it or fix storage.s3.bucket`;
  }
  if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    return `object store bucket ${bucket} rejected the request (${status ?? ''} ${String(name)}): check the credentials and their permissions on the bucket`;
  }
  return undefined;
}
