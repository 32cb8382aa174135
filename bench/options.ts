/** Command-line options of `npm run bench` and the sizes of each mode. */
import { tmpdir } from 'node:os';
import { MIB } from './stats.js';

/** Sizes, counts and durations of one run. */
export interface BenchSettings {
  /** `s3` compares the registries with blobs in S3 and berth's metadata in PostgreSQL. */
  mode: 'compare' | 'scale' | 's3';
  quick: boolean;
  /** Whether the run writes docs/benchmarks.md. */
  write: boolean;
  /** Repetitions of each workload on each registry. */
  repetitions: number;
  /** Workload ids to run (all when undefined). */
  only: ReadonlySet<string> | undefined;
  /** Directory under which the run creates its temporary directory (registry storage, dd file). */
  tmpBase: string;
  /** Directory of the cached random file. */
  cacheDir: string;
  /** Whether berth runs under `node --cpu-prof` and the run writes flame graphs and summaries. */
  profile: boolean;
  /** Output directory of --profile; undefined means docs/profiles in the repository. */
  profileDir: string | undefined;
  /** Node counts of the --s3 mode, run in this order: each registry runs as this many processes. */
  nodeCounts: number[];
  /** PostgreSQL database of berth's metadata in the --s3 mode; each server start gets a new schema in it. */
  postgresUrl: string;

  monolithicBytes: number;
  chunkedBytes: number;
  chunkBytes: number;
  pullBytes: number;
  pullsPerRepetition: number;
  loadSeconds: number;
  warmupSeconds: number;
  loadConnections: number;
  wrkThreads: number;
  tagCount: number;
  tagConcurrency: number;
  tagPageSize: number;
  listPasses: number;
  smallImages: number;
  smallLayerMinBytes: number;
  smallLayerMaxBytes: number;
  /** `count` of `dd bs=16M`; 64 writes 1 GiB. */
  ddCount: number;

  scaleTagCounts: number[];
  scaleRepositoryCounts: number[];
  scaleSamples: number;
  scaleConcurrency: number;
}

/** Returns the help text of `npm run bench -- --help`. */
export function usage(workloadIds: readonly string[]): string {
  return `usage: npm run bench [-- OPTIONS]

Compares berth with CNCF Distribution (docker-registry) on 127.0.0.1 and writes
docs/benchmarks.md, with --s3 compares them with blobs in S3, or with --scale measures berth
alone at growing tag and repository counts.

options:
  --quick         smoke run with small sizes (about 2 minutes); fails on any workload error
                  and does not write docs/benchmarks.md unless --write is given
  --scale         measure berth alone at growing counts instead of comparing the registries
  --s3            compare the registries with blobs in S3 (a new bucket per server start) and
                  berth's metadata in PostgreSQL, at 1 and then 3 nodes behind nginx; reads the
                  store from AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
  --nodes N       with --s3, run only at N nodes per registry (1 or 3)
  --postgres-url URL
                  with --s3, the database of berth's metadata (default ${DEFAULT_POSTGRES_URL})
  --write         write docs/benchmarks.md also after a --quick run
  --no-write      do not write docs/benchmarks.md
  --reps N        repetitions of each workload on each registry (default 5, --quick 2)
  --only IDS      comma-separated workload ids to run: ${workloadIds.join(', ')}
  --tmp-dir DIR   directory for the registries' storage and the dd test file (default ${tmpdir()})
  --cache-dir DIR directory of the cached random file (default /var/tmp/berth-bench)
  --profile       run berth under node --cpu-prof and write, per workload, a folded-stack file,
                  an SVG flame graph and a markdown summary of the measured sections; does not
                  write docs/benchmarks.md unless --write is given
  --profile-dir DIR
                  output directory of --profile (default docs/profiles)
  --help          print this text
`;
}

/** Database of berth's metadata in the --s3 mode unless --postgres-url is given. */
export const DEFAULT_POSTGRES_URL = 'postgres://root@127.0.0.1:5432/test';

/** Node counts that --nodes accepts. */
const NODE_COUNTS = [1, 3];

/** Raised for invalid command-line options; the message names the option and the valid values. */
export class UsageError extends Error {}

/** Parses the command-line arguments after `node dist/bench/run.js`. */
export function parseArguments(argv: readonly string[], workloadIds: readonly string[]): BenchSettings | 'help' {
  let quick = false;
  let scale = false;
  let write: boolean | undefined;
  let repetitions: number | undefined;
  let only: Set<string> | undefined;
  let tmpBase = tmpdir();
  let cacheDir = '/var/tmp/berth-bench';
  let profile = false;
  let profileDir: string | undefined;
  let s3 = false;
  let nodeCounts: number[] | undefined;
  let postgresUrl: string | undefined;

  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index] as string;
    const value = (): string => {
      const next = argv[index + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new UsageError(`${argument} needs a value`);
      }
      index += 1;
      return next;
    };
    switch (argument) {
      case '--help':
      case '-h':
        return 'help';
      case '--quick':
        quick = true;
        break;
      case '--scale':
        scale = true;
        break;
      case '--s3':
        s3 = true;
        break;
      case '--nodes': {
        const text = value();
        const count = Number(text);
        if (!NODE_COUNTS.includes(count)) {
          throw new UsageError(`invalid --nodes ${text}: expected ${NODE_COUNTS.join(' or ')}`);
        }
        nodeCounts = [count];
        break;
      }
      case '--postgres-url':
        postgresUrl = value();
        break;
      case '--write':
        write = true;
        break;
      case '--no-write':
        write = false;
        break;
      case '--reps': {
        const text = value();
        repetitions = Number(text);
        if (!Number.isInteger(repetitions) || repetitions < 1 || repetitions > 100) {
          throw new UsageError(`invalid --reps ${text}: expected an integer from 1 to 100`);
        }
        break;
      }
      case '--only': {
        only = new Set(value().split(',').filter((id) => id !== ''));
        const unknown = [...only].filter((id) => !workloadIds.includes(id));
        if (unknown.length > 0) {
          throw new UsageError(`unknown workload id ${unknown.join(', ')}: expected some of ${workloadIds.join(', ')}`);
        }
        break;
      }
      case '--tmp-dir':
        tmpBase = value();
        break;
      case '--cache-dir':
        cacheDir = value();
        break;
      case '--profile':
        profile = true;
        break;
      case '--profile-dir':
        profileDir = value();
        break;
      default:
        throw new UsageError(`unknown option ${argument}: run with --help for the list`);
    }
  }

  if (profile && scale) {
    throw new UsageError('--profile works only in the comparison mode: run it without --scale');
  }
  if (profileDir !== undefined && !profile) {
    throw new UsageError('--profile-dir needs --profile');
  }
  if (s3 && (scale || profile)) {
    throw new UsageError('--s3 cannot be combined with --scale or --profile');
  }
  if (!s3 && (nodeCounts !== undefined || postgresUrl !== undefined)) {
    throw new UsageError('--nodes and --postgres-url need --s3');
  }

  let sizes = s3 ? S3_FULL_SIZES : FULL_SIZES;
  if (quick) {
    sizes = QUICK_SIZES;
  }
  let mode: BenchSettings['mode'] = 'compare';
  if (s3) {
    mode = 's3';
  } else if (scale) {
    mode = 'scale';
  }
  return {
    ...sizes,
    mode,
    quick,
    // Numbers measured under the profiler are slower, so they do not replace the page by default.
    write: write ?? !(quick || profile),
    repetitions: repetitions ?? (quick ? 2 : 5),
    only,
    tmpBase,
    cacheDir,
    profile,
    profileDir,
    nodeCounts: nodeCounts ?? NODE_COUNTS,
    postgresUrl: postgresUrl ?? DEFAULT_POSTGRES_URL,
  };
}

type ModeSizes = Omit<
  BenchSettings,
  'mode' | 'quick' | 'write' | 'repetitions' | 'only' | 'tmpBase' | 'cacheDir' | 'profile' | 'profileDir' | 'nodeCounts' | 'postgresUrl'
>;

const FULL_SIZES: ModeSizes = {
  monolithicBytes: 1024 * MIB,
  chunkedBytes: 256 * MIB,
  chunkBytes: 16 * MIB,
  pullBytes: 1024 * MIB,
  pullsPerRepetition: 3,
  loadSeconds: 10,
  warmupSeconds: 3,
  loadConnections: 64,
  wrkThreads: 2,
  tagCount: 5000,
  tagConcurrency: 8,
  tagPageSize: 1000,
  listPasses: 5,
  smallImages: 50,
  smallLayerMinBytes: 1 * MIB,
  smallLayerMaxBytes: 10 * MIB,
  ddCount: 64,
  scaleTagCounts: [1000, 10_000, 100_000],
  scaleRepositoryCounts: [1000, 10_000],
  scaleSamples: 200,
  scaleConcurrency: 32,
};

/**
 * Sizes of the full --s3 run. The Ceph store of scripts/s3-up.sh keeps every object in the
 * OSD's memory (memstore, 4 GiB by default), and its gateway frees deleted data only in garbage
 * collection, 60 to 120 s after the delete. In one run with 256 MiB blobs, five monolithic
 * pushes per registry raised the OSD's used bytes from 0 to 4.2 GB in 80 s and filled it.
 * NOTE: these smaller sizes are an estimate that no full run has checked yet.
 */
const S3_FULL_SIZES: ModeSizes = {
  ...FULL_SIZES,
  monolithicBytes: 128 * MIB,
  chunkedBytes: 128 * MIB,
  chunkBytes: 16 * MIB,
  pullBytes: 128 * MIB,
  smallImages: 20,
  smallLayerMaxBytes: 4 * MIB,
};

const QUICK_SIZES: ModeSizes = {
  monolithicBytes: 4 * MIB,
  chunkedBytes: 4 * MIB,
  chunkBytes: 1 * MIB,
  pullBytes: 4 * MIB,
  pullsPerRepetition: 2,
  loadSeconds: 2,
  warmupSeconds: 1,
  loadConnections: 64,
  wrkThreads: 2,
  tagCount: 200,
  tagConcurrency: 8,
  // Smaller than the tag count, so that the quick run still follows Link headers across pages.
  tagPageSize: 50,
  listPasses: 2,
  smallImages: 5,
  smallLayerMinBytes: 1 * MIB,
  smallLayerMaxBytes: 2 * MIB,
  ddCount: 4,
  scaleTagCounts: [100, 1000],
  scaleRepositoryCounts: [100, 1000],
  scaleSamples: 50,
  scaleConcurrency: 32,
};
