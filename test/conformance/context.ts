import { randomUUID } from 'node:crypto';

import { RegistryClient } from './client.js';
import { buildConformanceContent } from './content.js';
import type { ConformanceContent } from './content.js';

/** State shared by the four workflows, which run in order against one registry. */
export interface ConformanceContext {
  readonly client: RegistryClient;
  /** Repository every workflow uses, the suite's OCI_NAMESPACE. */
  readonly name: string;
  /** Repository that blobs are mounted into. */
  readonly crossmountName: string;
  /** Repository that has never seen any blob before the automatic mount check. */
  readonly automountName: string;
  readonly content: ConformanceContent;
}

export type ContextSource = () => ConformanceContext;

/** Creates a context with fresh repository names and content, so runs never share state. */
export function createConformanceContext(baseUrl: string): ConformanceContext {
  const runId = randomUUID().slice(0, 8);
  return {
    client: new RegistryClient(baseUrl),
    name: `conformance-${runId}/main`,
    crossmountName: `conformance-${runId}/crossmount`,
    automountName: `conformance-${runId}/automount`,
    content: buildConformanceContent(),
  };
}
