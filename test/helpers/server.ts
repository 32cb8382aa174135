import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Registry } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../src/log.js';
import { RegistryClient } from './http.js';
import { removeScaleOutData, scaleOut, scaleOutOverrides } from './scaleout.js';

/** A registry running inside the test process on 127.0.0.1 with a temporary data directory. */
export interface TestServer {
  /** Base URL, for example `http://127.0.0.1:43121`. */
  readonly url: string;
  readonly dataDir: string;
  readonly registry: Registry;
  /** Stops the registry and deletes its data directory unless `keepData` is set. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * Starts a registry in this process on an ephemeral port, on SQLite and the filesystem, or on
 * PostgreSQL and S3 when BERTH_TEST_BACKENDS=scaleout. `overrides` sets configuration keys by
 * dotted path (as strings, like environment variables); `dataDir` reuses an existing directory.
 * Logs are discarded unless BERTH_TEST_LOG_LEVEL is set or `logTo` receives them.
 */
export async function startTestServer(
  options: { overrides?: Record<string, string>; dataDir?: string; logTo?: DestinationStream } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-test-')));
  try {
    return await startIn(dataDir, options);
  } catch (error) {
    if (!options.dataDir) await removeData(dataDir);
    throw error;
  }
}

async function removeData(dataDir: string): Promise<void> {
  if (scaleOut) await removeScaleOutData(dataDir);
  await rm(dataDir, { recursive: true, force: true });
}

async function startIn(dataDir: string, options: { overrides?: Record<string, string>; logTo?: DestinationStream }): Promise<TestServer> {
  const config = loadConfig({
    overrides: {
      listen: '127.0.0.1:0',
      dataDir,
      'log.level': process.env.BERTH_TEST_LOG_LEVEL ?? (options.logTo ? 'debug' : 'silent'),
      'log.format': 'json',
      ...(scaleOut ? await scaleOutOverrides(dataDir) : {}),
      ...options.overrides,
    },
  });
  const registry = await Registry.start(config, createLogger(config.log, options.logTo));
  return {
    url: `http://${registry.address()}`,
    dataDir,
    registry,
    async close(closeOptions = {}) {
      await registry.stop();
      if (!closeOptions.keepData) await removeData(dataDir);
    },
  };
}

/** A test server and a client of it, set by the hooks of {@link useTestServer}. */
export interface ServerFixture {
  server: TestServer;
  client: RegistryClient;
}

/**
 * Registers `before` and `after` hooks that start a test server for the enclosing `describe`
 * block and stop it afterwards. The fields of the returned object are set once `before` has run.
 */
export function useTestServer(options: { overrides?: Record<string, string> } = {}): ServerFixture {
  const fixture = {} as ServerFixture;
  before(async () => {
    fixture.server = await startTestServer(options);
    fixture.client = new RegistryClient(fixture.server.url);
  });
  after(async () => {
    await fixture.server.close();
  });
  return fixture;
}
