/**
 * The error catalog: every error code berth sends, with its HTTP status and a description.
 *
 * Storage, metadata and registry code throw {@link RegistryError} with a catalog code; only the
 * HTTP layer turns it into a response, in the OCI distribution-spec error format
 * `{"errors":[{"code","message","detail"}]}`.
 */

/** One entry of the catalog. */
export interface ErrorDescriptor {
  readonly status: number;
  readonly description: string;
}

/** Error codes defined by the OCI distribution-spec, plus the few berth adds for its own operations. */
export const errorCatalog = {
  BLOB_UNKNOWN: { status: 404, description: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, description: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, description: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, description: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, description: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, description: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, description: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, description: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, description: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, description: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, description: 'authentication required' },
  DENIED: { status: 403, description: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, description: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, description: 'too many requests' },
  RANGE_INVALID: { status: 416, description: 'requested range is not satisfiable' },
  TAG_INVALID: { status: 400, description: 'invalid tag' },
  PAGINATION_NUMBER_INVALID: { status: 400, description: 'invalid number of results requested' },
  NOT_FOUND: { status: 404, description: 'no such endpoint' },
  REQUEST_INVALID: { status: 400, description: 'malformed HTTP request' },
  UNAVAILABLE: { status: 503, description: 'a backing service is unavailable' },
  INTERNAL: { status: 500, description: 'internal server error' },
} as const satisfies Record<string, ErrorDescriptor>;

/** A code of the error catalog. */
export type ErrorCode = keyof typeof errorCatalog;

/**
 * A failure that maps to one catalog code. `message` names the value at fault and the fix, and
 * `detail` is optional structured data sent to the client as is. `status` overrides the catalog's
 * HTTP status where the spec asks for another one (for example 416 for an out-of-order chunk).
 */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { detail?: unknown; status?: number; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.detail = options.detail;
    this.status = options.status ?? errorCatalog[code].status;
    this.headers = options.headers ?? {};
  }
}

/** Raised by storage drivers when a path does not exist. Registry code maps it to a catalog code. */
export class PathNotFoundError extends Error {
  readonly path: string;

  constructor(path: string) {
    super(`path not found: ${path}`);
    this.name = 'PathNotFoundError';
    this.path = path;
  }
}

/** Raised by a metadata store or storage driver whose backing service cannot be reached. */
export class BackendUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** Builds the JSON body of an error response in the OCI distribution-spec format. */
export function errorBody(error: RegistryError): string {
  const entry: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.detail !== undefined) entry.detail = error.detail;
  return JSON.stringify({ errors: [entry] });
}
