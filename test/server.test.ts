import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { expectError, RegistryClient, sha256 } from './helpers/http.js';
import { startTestServer } from './helpers/server.js';

/** Collects the JSON log lines a registry writes. */
function logCollector(): { stream: { write(line: string): void }; lines: Record<string, unknown>[]; text(): string } {
  const raw: string[] = [];
  return {
    stream: { write: (line: string) => void raw.push(line) },
    get lines() {
      return raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('server operations', () => {
  test('request completion log line', async () => {
    const logs = logCollector();
    const server = await startTestServer({ logTo: logs.stream });
    try {
      const client = new RegistryClient(server.url);
      const response = await client.fetch('/v2/', { headers: { 'X-Request-Id': 'log-test-1', Authorization: 'Bearer top-secret-token' } });
      assert.equal(response.status, 200);
      await client.fetch('/v2/x/manifests/latest', { headers: { Authorization: 'Basic dXNlcjpzZWNyZXQtcGFzc3dvcmQ=' } });
      await waitFor(async () => logs.lines.filter((line) => line.msg === 'request completed').length >= 2, 'two request log lines');
      const line = logs.lines.find((entry) => entry.reqId === 'log-test-1' && entry.msg === 'request completed');
      assert.ok(line, logs.text());
      assert.equal(line.method, 'GET');
      assert.equal(line.path, '/v2/');
      assert.equal(line.status, 200);
      assert.equal(line.bytes, 2);
      assert.equal(typeof line.durationMs, 'number');
      assert.doesNotMatch(logs.text(), /top-secret-token/);
      assert.doesNotMatch(logs.text(), /dXNlcjpzZWNyZXQtcGFzc3dvcmQ=/);
      assert.doesNotMatch(logs.text(), /authorization/i);
    } finally {
      await server.close();
    }
  });

  test('one log line per blob read', async () => {
    const logs = logCollector();
    const server = await startTestServer({ logTo: logs.stream });
    try {
      const client = new RegistryClient(server.url);
      const digest = await client.pushBlob('logs/blob', randomBytes(400));
      for (let index = 0; index < 50; index++) {
        const response = await client.fetch(`/v2/logs/blob/blobs/${digest}`, { headers: { 'X-Request-Id': `read-${index}` } });
        assert.equal(response.status, 200);
        await response.arrayBuffer();
      }
      const completed = (): Record<string, unknown>[] => logs.lines.filter((line) => String(line.reqId).startsWith('read-') && line.msg === 'request completed');
      await waitFor(async () => completed().length >= 50, '50 completion lines');
      assert.equal(completed().length, 50);
      assert.ok(completed().every((line) => line.status === 200 && line.bytes === 400));
    } finally {
      await server.close();
    }
  });

  test('malformed request not logged raw', async () => {
    const logs = logCollector();
    const server = await startTestServer({ logTo: logs.stream });
    try {
      const { connect } = await import('node:net');
      const target = new URL(server.url);
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(target.port), target.hostname, () => {
          socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer raw-secret-token\r\nContent-Length: abc\r\n\r\n');
        });
        socket.on('data', () => undefined);
        socket.on('end', () => resolve());
        socket.on('error', reject);
      });
      await waitFor(async () => logs.lines.some((line) => line.msg === 'malformed http request'), 'the malformed request log line');
      assert.doesNotMatch(logs.text(), /raw-secret-token/);
    } finally {
      await server.close();
    }
  });

  test('graceful shutdown finishes requests', async () => {
    const server = await startTestServer();
    const client = new RegistryClient(server.url);
    const data = randomBytes(256 * 1024);
    const start = await client.fetch('/v2/shutdown/blobs/uploads/', { method: 'POST' });
    const location = new URL(`${server.url}${start.headers.get('location')}?digest=${sha256(data)}`);
    const status = new Promise<number>((resolve, reject) => {
      const req = request(
        { host: location.hostname, port: location.port, path: `${location.pathname}${location.search}`, method: 'PUT', headers: { 'Content-Length': data.length } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(data.subarray(0, 1024));
      setTimeout(() => req.end(data.subarray(1024)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = server.close({ keepData: true });
    assert.equal(await status, 201);
    await stopped;
    await assert.rejects(fetch(`${server.url}/v2/`));
    const restarted = await startTestServer({ dataDir: server.dataDir });
    try {
      const blob = await fetch(`${restarted.url}/v2/shutdown/blobs/${sha256(data)}`, { method: 'HEAD' });
      assert.equal(blob.status, 200);
    } finally {
      await restarted.close();
    }
  });

  test('expired upload sessions purged', async () => {
    const server = await startTestServer({ overrides: { 'uploads.expireAfterSeconds': '1', 'uploads.purgeIntervalSeconds': '1' } });
    try {
      const client = new RegistryClient(server.url);
      const start = await client.fetch('/v2/purge/blobs/uploads/', { method: 'POST' });
      const location = start.headers.get('location') ?? '';
      await client.fetch(location, { method: 'PATCH', body: randomBytes(1000), headers: { 'Content-Range': '0-999' } });
      const uploads = join(server.dataDir, 'storage', 'uploads');
      assert.equal((await readdir(uploads)).length, 1);
      await waitFor(async () => (await client.fetch(location)).status === 404, 'the session to expire');
      await expectError(await client.fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.deepEqual(await readdir(uploads), []);
    } finally {
      await server.close();
    }
  });

  test('readyz reports broken storage', async () => {
    const server = await startTestServer();
    const root = join(server.dataDir, 'storage');
    try {
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      await rename(root, `${root}.moved`);
      await writeFile(root, 'a file where the storage directory belongs');
      const broken = await fetch(`${server.url}/readyz`);
      assert.equal(broken.status, 503);
      const body = (await broken.json()) as { status: string; checks: { component: string; ok: boolean; error?: string }[] };
      assert.equal(body.status, 'unavailable');
      assert.equal(body.checks.find((check) => check.component === 'storage:filesystem')?.ok, false);
      assert.equal(body.checks.find((check) => check.component === 'metadata:sqlite')?.ok, true);
      await rm(root);
      await rename(`${root}.moved`, root);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test('readyz reports missing storage', async () => {
    const server = await startTestServer();
    const root = join(server.dataDir, 'storage');
    try {
      await rename(root, `${root}.away`);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
      await assert.rejects(readdir(root), 'readyz must not recreate a storage root that went away');
      await rename(`${root}.away`, root);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test('start-up fails on unusable storage', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'berth-bad-root-'));
    const fileRoot = join(directory, 'not-a-directory');
    await writeFile(fileRoot, '');
    try {
      await assert.rejects(startTestServer({ overrides: { 'storage.filesystem.root': fileRoot } }));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
