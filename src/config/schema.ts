import { z } from 'zod';

const mebibyte = 1024 * 1024;

/**
 * Splits a listen address into host and port: `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (all
 * interfaces). Returns undefined when the value is not such an address.
 */
export function parseListenAddress(value: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  const host = (match[1] as string).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

const listenAddress = z
  .string()
  .refine((value) => parseListenAddress(value) !== undefined, 'expected HOST:PORT with a port from 0 to 65535, for example 127.0.0.1:5000');

const positiveInteger = z.coerce
  .number({ error: 'expected a whole number' })
  .int({ error: 'expected a whole number' })
  .positive({ error: 'expected a number greater than 0' });

/** A boolean from YAML, or `true`/`false` from an environment variable. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')], { error: 'expected true or false' });

/** A PostgreSQL identifier berth may create: letters, digits and underscores, not starting with a digit. */
const sqlIdentifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'expected letters, digits and underscores, starting with a letter, at most 63 characters');

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL, for example http://127.0.0.1:7480' });

/** Settings of the PostgreSQL metadata store. */
const postgresSchema = z
  .object({
    /** Connection URL, `postgres://USER:PASSWORD@HOST:PORT/DATABASE`; required with driver postgres. */
    url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a URL starting with postgres://').optional(),
    /** Schema of berth's tables, created at start-up when missing. */
    schema: sqlIdentifier.default('public'),
    /** Largest number of open connections per berth process. */
    poolSize: positiveInteger.max(1000).default(10),
    /** Time allowed to open a connection or wait for a free one, in seconds; requests then get 503. */
    connectTimeoutSeconds: positiveInteger.max(600).default(5),
    /** Time one statement may run before the database cancels it, in seconds. */
    statementTimeoutSeconds: positiveInteger.max(3600).default(30),
  })
  .strict()
  .prefault({});

/** Settings of the S3 storage driver. Credentials default to the standard AWS variables and files. */
const s3Schema = z
  .object({
    /** Bucket of blobs and upload staging; required with driver s3. */
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens').optional(),
    /** Key prefix inside the bucket, so several registries can share one bucket. */
    prefix: z.string().regex(/^([A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]*$/, 'expected path segments of letters, digits, dots, underscores and hyphens separated by /').default(''),
    /** Region the SDK signs requests for. */
    region: z.string().min(1).default('us-east-1'),
    /** Endpoint of an S3-compatible store such as Ceph or MinIO; AWS when unset. */
    endpoint: httpUrl.optional(),
    /** Path-style addressing (`endpoint/bucket/key`), which most self-hosted stores need. */
    forcePathStyle: flag.default(false),
    /** Access key; AWS_ACCESS_KEY_ID and the other standard sources when unset. */
    accessKeyId: z.string().min(1).optional(),
    /** Secret key; AWS_SECRET_ACCESS_KEY and the other standard sources when unset. */
    secretAccessKey: z.string().min(1).optional(),
    /** Time the store may stay silent while connecting or during a request before it fails and is retried, in seconds. */
    timeoutSeconds: positiveInteger.max(600).default(10),
    /** Size of the parts of multipart uploads, in MiB; S3 needs at least 5. */
    partSizeMib: positiveInteger.min(5).max(5120).default(16),
    redirect: z
      .object({
        /** Redirect blob GETs to a presigned URL of the object store. */
        enabled: flag.default(false),
        /** Endpoint the clients reach the store at, used to sign the URLs; `endpoint` when unset. */
        endpoint: httpUrl.optional(),
        /** Lifetime of a presigned URL, in seconds. */
        expiresSeconds: positiveInteger.max(7 * 24 * 3600).default(20 * 60),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/**
 * The configuration schema with its defaults. An empty file, or no file, gives the embedded
 * default: port 5000 on all interfaces, blobs on the filesystem and metadata in SQLite, both
 * under `./data`. Every key can also come from an environment variable named after its path:
 * `log.level` is `BERTH_LOG_LEVEL`, `limits.manifestMaxBytes` is `BERTH_LIMITS_MANIFEST_MAX_BYTES`.
 */
export const configSchema = z
  .object({
    /** Address the HTTP server binds, HOST:PORT. */
    listen: listenAddress.default('0.0.0.0:5000'),
    /** Directory for blobs, upload staging and the SQLite database, unless set per driver below. */
    dataDir: z.string().min(1).default('./data'),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        /** `auto` prints readable lines on a terminal and JSON otherwise. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        /** Largest manifest accepted, in bytes. */
        manifestMaxBytes: positiveInteger.max(64 * mebibyte).default(4 * mebibyte),
        /** Largest page of tags or repositories one request may ask for with `n`. */
        maxPageSize: positiveInteger.max(100_000).default(10_000),
        /** Page size used when a tags or catalog request gives no `n`. */
        defaultPageSize: positiveInteger.max(100_000).default(1_000),
      })
      .strict()
      .refine((limits) => limits.defaultPageSize <= limits.maxPageSize, {
        message: 'limits.defaultPageSize must not be larger than limits.maxPageSize',
        path: ['defaultPageSize'],
      })
      .prefault({}),
    uploads: z
      .object({
        /** An upload session untouched for this long is deleted with its bytes, in seconds. */
        expireAfterSeconds: positiveInteger.default(24 * 60 * 60),
        /** How often expired upload sessions are looked for, in seconds. */
        purgeIntervalSeconds: positiveInteger.default(10 * 60),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        /** Time requests in flight get to finish after SIGTERM or SIGINT, in seconds. */
        timeoutSeconds: positiveInteger.default(30),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        /** `filesystem` (embedded default) or `s3` (any S3-compatible object store). */
        driver: z.enum(['filesystem', 's3']).default('filesystem'),
        filesystem: z
          .object({
            /** Root directory of blobs and upload staging; defaults to `<dataDir>/storage`. */
            root: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
        s3: s3Schema,
      })
      .strict()
      .refine((storage) => storage.driver !== 's3' || storage.s3.bucket !== undefined, {
        message: 'storage.driver is s3, so storage.s3.bucket must name the bucket',
        path: ['s3', 'bucket'],
      })
      .prefault({}),
    metadata: z
      .object({
        /** `sqlite` (embedded default) or `postgres`. */
        driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
        sqlite: z
          .object({
            /** Path of the SQLite database file; defaults to `<dataDir>/metadata.db`. */
            path: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
        postgres: postgresSchema,
      })
      .strict()
      .refine((metadata) => metadata.driver !== 'postgres' || metadata.postgres.url !== undefined, {
        message: 'metadata.driver is postgres, so metadata.postgres.url must give the connection URL, for example postgres://berth@db:5432/berth',
        path: ['postgres', 'url'],
      })
      .prefault({}),
  })
  .strict();

/** The validated configuration with every default filled in. */
export type Config = z.infer<typeof configSchema>;
