import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { TestContext } from 'node:test';
import { startBerth } from '../helpers/process.js';
import type { BerthProcess } from '../helpers/process.js';
import { requireTool } from '../helpers/tools.js';
import { createContainersEnv, haveTools } from './containers-env.js';

/** A command an end-to-end test runs and the Debian package that installs it. */
export interface ToolRequirement {
  readonly command: string;
  readonly debianPackage: string;
}

/** What the hooks of {@link useClientFixture} set up for the tests of one `describe` block. */
export interface ClientFixture<Layout> {
  /** Returns true when every required tool is installed; otherwise fails (CI) or skips the test. */
  requireTools(t: TestContext): boolean;
  /** The OCI layout built for the block. */
  layout(): Layout;
  /** The running registry. */
  server(): BerthProcess;
  /** Replaces the running registry, after a test restarted it. */
  replaceServer(server: BerthProcess): void;
  /** Environment that points skopeo and podman at private storage and configuration. */
  env(): NodeJS.ProcessEnv;
  workDir(): string;
}

/**
 * Registers `before` and `after` hooks that build an image layout with `buildLayout`, start berth
 * as a child process and write private client configuration, all under one temporary directory.
 * The directory name is lowercase hex because podman names images pulled from an OCI layout after
 * its path.
 * `serverEnv` adds environment variables to berth's process. When a tool is missing the hooks do
 * nothing, so each test's `requireTools` reports it.
 */
export function useClientFixture<Layout>(
  name: string,
  tools: readonly ToolRequirement[],
  buildLayout: (directory: string) => Promise<Layout>,
  serverEnv: Record<string, string> = {},
): ClientFixture<Layout> {
  let workDir = '';
  let layout: Layout | undefined;
  let berth: BerthProcess | undefined;
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    workDir = join(tmpdir(), `berth-e2e-${name}-${randomBytes(6).toString('hex')}`);
    await mkdir(workDir);
    if (!haveTools(...tools.map((tool) => tool.command))) return;
    layout = await buildLayout(join(workDir, 'layout'));
    berth = await startBerth({ dataDir: join(workDir, 'data'), env: serverEnv });
    env = await createContainersEnv(join(workDir, 'containers'), [berth.host]);
  });

  after(async () => {
    await berth?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  return {
    requireTools: (t) => tools.every((tool) => requireTool(t, tool.command, tool.debianPackage)),
    layout() {
      assert.ok(layout !== undefined, 'the image layout was not built by before()');
      return layout;
    },
    server() {
      assert.ok(berth, 'berth was not started by before()');
      return berth;
    },
    replaceServer(server) {
      berth = server;
    },
    env: () => env,
    workDir: () => workDir,
  };
}

/** Tools the busybox image builder needs. */
export const busyboxBuildTools: readonly ToolRequirement[] = [
  { command: '/bin/busybox', debianPackage: 'busybox-static' },
  { command: 'tar', debianPackage: 'tar' },
];

export const skopeoTool: ToolRequirement = { command: 'skopeo', debianPackage: 'skopeo' };
export const podmanTool: ToolRequirement = { command: 'podman', debianPackage: 'podman' };
export const debootstrapTool: ToolRequirement = { command: 'debootstrap', debianPackage: 'debootstrap' };
