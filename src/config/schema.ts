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

const positiveInteger = z.coerce.number().int().positive();

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
        driver: z.literal('filesystem').default('filesystem'),
        filesystem: z
          .object({
            /** Root directory of blobs and upload staging; defaults to `<dataDir>/storage`. */
            root: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    metadata: z
      .object({
        driver: z.literal('sqlite').default('sqlite'),
        sqlite: z
          .object({
            /** Path of the SQLite database file; defaults to `<dataDir>/metadata.db`. */
            path: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The validated configuration with every default filled in. */
export type Config = z.infer<typeof configSchema>;
