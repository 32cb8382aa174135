// Port of the OCI distribution-spec conformance suite (Go, ginkgo) to
// node:test. The four workflows run in the suite's order against one
// registry and share one repository, so later workflows see what earlier ones
// left. Where the suite accepts several outcomes, these tests assert the one
// berth implements; comments at each such check name what the suite allows.
//
// By default the tests start berth in-process. With BERTH_CONFORMANCE_URL set
// (for example http://127.0.0.1:5000) they run against that registry instead,
// which checks the port itself against another implementation.

import { after, before } from 'node:test';

import { createConformanceContext } from './conformance/context.js';
import type { ConformanceContext } from './conformance/context.js';
import { describeDiscoveryWorkflow } from './conformance/discovery.js';
import { describeManagementWorkflow } from './conformance/management.js';
import { describePullWorkflow } from './conformance/pull.js';
import { describePushWorkflow } from './conformance/push.js';
import { startTestServer } from './helpers/server.js';

let context: ConformanceContext | undefined;
let closeServer: (() => Promise<void>) | undefined;

before(async () => {
  const externalUrl = process.env['BERTH_CONFORMANCE_URL'];
  if (externalUrl !== undefined && externalUrl !== '') {
    context = createConformanceContext(externalUrl);
    return;
  }
  const server = await startTestServer();
  closeServer = () => server.close();
  context = createConformanceContext(server.url);
});

after(async () => {
  await closeServer?.();
});

function currentContext(): ConformanceContext {
  if (context === undefined) {
    throw new Error('conformance target is not set up: the before hook failed or has not run');
  }
  return context;
}

describePullWorkflow(currentContext);
describePushWorkflow(currentContext);
describeDiscoveryWorkflow(currentContext);
describeManagementWorkflow(currentContext);
