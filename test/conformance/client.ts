// HTTP client and assertions for the conformance port. Every request goes to
// the origin of the target URL. Before a Location is followed, it is reduced
// to its path and query, as the suite's client does, so an absolute Location
// that names another host is never contacted.

import assert from 'node:assert/strict';

import { MEDIA_TYPES } from './content.js';
import type { ContentBlob } from './content.js';

export interface RequestOptions {
  /** Query parameters added to those already in the path (set, not appended). */
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
}

export interface RegistryResponse {
  readonly method: string;
  readonly url: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly requestBodySize: number;
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

const BODY_PREVIEW_CHARS = 800;

export class RegistryClient {
  readonly origin: string;

  constructor(baseUrl: string) {
    this.origin = new URL(baseUrl).origin;
  }

  /** Sends one request to `target`, a path with an optional query such as `/v2/`. */
  async request(method: string, target: string, options: RequestOptions = {}): Promise<RegistryResponse> {
    assert.ok(target.startsWith('/'), `request target must be a path, got ${JSON.stringify(target)}`);
    const url = new URL(target, this.origin);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      url.searchParams.set(key, value);
    }

    const requestHeaders = { ...(options.headers ?? {}) };
    const init: RequestInit = { method, headers: requestHeaders };
    if (options.body !== undefined) {
      init.body = options.body;
    }
    const response = await fetch(url, init);
    const body = Buffer.from(await response.arrayBuffer());
    return {
      method,
      url: url.toString(),
      requestHeaders,
      requestBodySize: options.body?.length ?? 0,
      status: response.status,
      headers: response.headers,
      body,
    };
  }
}

/** Formats a request and its response for an assertion message. */
export function formatExchange(response: RegistryResponse): string {
  const lines = [`request: ${response.method} ${response.url}`];
  for (const [name, value] of Object.entries(response.requestHeaders)) {
    lines.push(`  ${name}: ${value}`);
  }
  if (response.requestBodySize > 0) {
    lines.push(`  (body: ${response.requestBodySize} bytes)`);
  }
  lines.push(`response: ${response.status}`);
  response.headers.forEach((value, name) => {
    lines.push(`  ${name}: ${value}`);
  });
  if (response.body.length > 0) {
    const text = response.body.toString('utf8');
    const printable = /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/.test(text);
    if (printable) {
      const preview = text.length > BODY_PREVIEW_CHARS ? `${text.slice(0, BODY_PREVIEW_CHARS)}...` : text;
      lines.push(`  body: ${preview}`);
    } else {
      lines.push(`  body: ${response.body.length} bytes of binary data`);
    }
  }
  return lines.join('\n');
}

export function assertStatus(response: RegistryResponse, expected: number): void {
  assert.equal(response.status, expected, `expected status ${expected}, got ${response.status}\n${formatExchange(response)}`);
}

export function assertHeader(response: RegistryResponse, name: string, expected: string): void {
  const actual = response.headers.get(name);
  assert.equal(actual, expected, `expected header ${name}: ${expected}, got ${actual ?? '(absent)'}\n${formatExchange(response)}`);
}

export function assertHeaderPresent(response: RegistryResponse, name: string): string {
  const actual = response.headers.get(name);
  assert.notEqual(actual, null, `expected a ${name} header\n${formatExchange(response)}`);
  assert.notEqual(actual, '', `expected a non-empty ${name} header\n${formatExchange(response)}`);
  return actual as string;
}

export function assertBody(response: RegistryResponse, expected: ContentBlob): void {
  assert.ok(
    response.body.equals(expected.content),
    `expected a ${expected.size}-byte body with digest ${expected.digest}, got ${response.body.length} bytes\n${formatExchange(response)}`,
  );
}

/**
 * Returns the path and query of the Location header, resolved against the
 * request URL, which is what the suite's client follows.
 */
export function locationPath(response: RegistryResponse): string {
  const location = assertHeaderPresent(response, 'location');
  const resolved = new URL(location, response.url);
  return `${resolved.pathname}${resolved.search}`;
}

export function parseJsonBody(response: RegistryResponse): unknown {
  try {
    return JSON.parse(response.body.toString('utf8'));
  } catch (error) {
    assert.fail(`response body is not valid JSON (${String(error)})\n${formatExchange(response)}`);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns the `tags` array of a tag list response, asserting its shape. */
export function parseTagList(response: RegistryResponse): { name: unknown; tags: string[] } {
  const document = parseJsonBody(response);
  assert.ok(isRecord(document), `tag list body is not a JSON object\n${formatExchange(response)}`);
  const tags = document['tags'];
  assert.ok(Array.isArray(tags), `tag list "tags" is not an array\n${formatExchange(response)}`);
  for (const tag of tags) {
    assert.equal(typeof tag, 'string', `tag list entry ${JSON.stringify(tag)} is not a string\n${formatExchange(response)}`);
  }
  return { name: document['name'], tags: tags as string[] };
}

/** Returns the `manifests` array of an image index response, asserting its shape. */
export function parseIndexManifests(response: RegistryResponse): Record<string, unknown>[] {
  const document = parseJsonBody(response);
  assert.ok(isRecord(document), `index body is not a JSON object\n${formatExchange(response)}`);
  const manifests = document['manifests'];
  assert.ok(Array.isArray(manifests), `index "manifests" is not an array\n${formatExchange(response)}`);
  for (const entry of manifests) {
    assert.ok(isRecord(entry), `index entry ${JSON.stringify(entry)} is not an object\n${formatExchange(response)}`);
  }
  return manifests as Record<string, unknown>[];
}

/** Returns the error codes of an OCI error body (`{"errors":[{"code":...}]}`). */
export function parseErrorCodes(response: RegistryResponse): string[] {
  const document = parseJsonBody(response);
  assert.ok(isRecord(document), `error body is not a JSON object\n${formatExchange(response)}`);
  const errors = document['errors'];
  assert.ok(Array.isArray(errors), `error body "errors" is not an array\n${formatExchange(response)}`);
  return errors.map((entry: unknown) => (isRecord(entry) && typeof entry['code'] === 'string' ? entry['code'] : ''));
}

/** Starts an upload session, asserting 202 and a Location, and returns the Location path. */
export async function openUploadSession(client: RegistryClient, name: string): Promise<string> {
  const session = await client.request('POST', `/v2/${name}/blobs/uploads/`);
  assertStatus(session, 202);
  return locationPath(session);
}

/** Uploads a blob with POST then PUT, the suite's setup path, and returns the PUT response. */
export async function uploadBlob(client: RegistryClient, name: string, blob: ContentBlob): Promise<RegistryResponse> {
  const location = await openUploadSession(client, name);
  return client.request('PUT', location, {
    query: { digest: blob.digest },
    headers: { 'Content-Type': MEDIA_TYPES.octetStream },
    body: blob.content,
  });
}

export async function putManifest(
  client: RegistryClient,
  name: string,
  reference: string,
  manifest: ContentBlob,
  mediaType: string = MEDIA_TYPES.imageManifest,
): Promise<RegistryResponse> {
  return client.request('PUT', `/v2/${name}/manifests/${reference}`, {
    headers: { 'Content-Type': mediaType },
    body: manifest.content,
  });
}
