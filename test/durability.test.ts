import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sha256 } from './helpers/http.js';
import { startBerth, type BerthProcess } from './helpers/process.js';

const mebibyte = 1024 * 1024;

/**
 * Creates a stream of `totalBytes` made from `base` (one MiB) repeated, each copy stamped with its
 * index so no two MiB are equal. The same base gives the same bytes. `onChunk` receives the running total.
 */
function generatedBody(base: Buffer, totalBytes: number, onChunk: (sent: number) => void = () => undefined): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= totalBytes) {
        controller.close();
        return;
      }
      const chunk = Buffer.from(base.subarray(0, Math.min(mebibyte, totalBytes - sent)));
      chunk.writeUInt32BE(sent / mebibyte, 0);
      sent += chunk.length;
      onChunk(sent);
      controller.enqueue(chunk);
    },
  });
}

async function digestOfStream(stream: ReadableStream<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

async function startUpload(server: BerthProcess, repository: string): Promise<string> {
  const response = await fetch(`${server.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  assert.equal(response.status, 202);
  return `${server.url}${response.headers.get('location')}`;
}

async function listBlobFiles(dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'storage', 'blobs', 'sha256');
  const prefixes = await readdir(root).catch(() => []);
  const files: string[] = [];
  for (const prefix of prefixes) files.push(...(await readdir(join(root, prefix))));
  return files;
}

/** Peak resident set size of a process so far (VmHWM), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  assert.ok(match, 'VmHWM missing from /proc status');
  return Number(match[1]) * 1024;
}

describe('durability across restarts', { timeout: 300_000 }, () => {
  test('chunked upload resumes after restart', async () => {
    let server = await startBerth();
    try {
      const data = randomBytes(3 * mebibyte + 123);
      const location = await startUpload(server, 'durable/resume');
      const first = await fetch(location, { method: 'PATCH', body: data.subarray(0, 2 * mebibyte), headers: { 'Content-Range': `0-${2 * mebibyte - 1}` } });
      assert.equal(first.status, 202);
      assert.equal(await server.stop(), 0);

      server = await startBerth({ dataDir: server.dataDir, port: server.port });
      const status = await fetch(location);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${2 * mebibyte - 1}`);
      const second = await fetch(location, {
        method: 'PATCH',
        body: data.subarray(2 * mebibyte),
        headers: { 'Content-Range': `${2 * mebibyte}-${data.length - 1}` },
      });
      assert.equal(second.status, 202);
      const done = await fetch(`${location}?digest=${sha256(data)}`, { method: 'PUT' });
      assert.equal(done.status, 201);
      const blob = await fetch(`${server.url}/v2/durable/resume/blobs/${sha256(data)}`);
      assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data));
    } finally {
      await server.stop();
      await rm(server.dataDir, { recursive: true, force: true });
    }
  });

  test('kill -9 mid-upload leaves no blob', async () => {
    const total = 256 * mebibyte;
    const base = randomBytes(mebibyte);
    const digest = await digestOfStream(generatedBody(base, total));
    let server = await startBerth();
    try {
      const location = await startUpload(server, 'durable/crash');
      const running = server;
      let killed: Promise<void> | undefined;
      const body = generatedBody(base, total, (sent) => {
        if (sent >= 96 * mebibyte && !killed) killed = running.kill();
      });
      await assert.rejects(fetch(`${location}?digest=${digest}`, { method: 'PUT', body, duplex: 'half' } as RequestInit));
      await killed;

      server = await startBerth({ dataDir: server.dataDir, port: server.port });
      const head = await fetch(`${server.url}/v2/durable/crash/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 404);
      assert.deepEqual(await listBlobFiles(server.dataDir), []);

      const retry = await startUpload(server, 'durable/crash');
      const pushed = await fetch(`${retry}?digest=${digest}`, { method: 'PUT', body: generatedBody(base, total), duplex: 'half' } as RequestInit);
      assert.equal(pushed.status, 201);
      const stored = await fetch(`${server.url}/v2/durable/crash/blobs/${digest}`);
      assert.equal(await digestOfStream(stored.body as ReadableStream<Uint8Array>), digest);
      assert.deepEqual(await listBlobFiles(server.dataDir), [digest.slice('sha256:'.length)]);
    } finally {
      await server.stop();
      await rm(server.dataDir, { recursive: true, force: true });
    }
  });

  test('1 GiB push keeps memory flat', async () => {
    const server = await startBerth();
    try {
      const total = 1024 * mebibyte;
      const base = randomBytes(mebibyte);
      const digest = await digestOfStream(generatedBody(base, total));
      const before = await peakRss(server.pid);
      const location = await startUpload(server, 'durable/memory');
      const response = await fetch(`${location}?digest=${digest}`, { method: 'PUT', body: generatedBody(base, total), duplex: 'half' } as RequestInit);
      assert.equal(response.status, 201);
      const growth = (await peakRss(server.pid)) - before;
      assert.ok(growth < 64 * mebibyte, `peak RSS grew by ${(growth / mebibyte).toFixed(1)} MiB during a 1 GiB push`);
    } finally {
      await server.stop();
      await rm(server.dataDir, { recursive: true, force: true });
    }
  });
});
