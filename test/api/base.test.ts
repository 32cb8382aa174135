import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { expectError } from '../helpers/http.js';
import { scaleOut } from '../helpers/scaleout.js';
import { useTestServer } from '../helpers/server.js';

/** Sends a request with a raw, unnormalized path, which fetch would rewrite. */
function rawRequest(url: string, method: string, path: string): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method, path }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('base endpoints and names', () => {
  const fixture = useTestServer();


  test('GET /v2/ answers 200', async () => {
    const response = await fixture.client.fetch('/v2/');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await response.json(), {});
    const head = await fixture.client.fetch('/v2/', { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  test('request id echoed', async () => {
    const response = await fixture.client.fetch('/v2/', { headers: { 'X-Request-Id': 'abc-123' } });
    assert.equal(response.headers.get('x-request-id'), 'abc-123');
    const generated = await fixture.client.fetch('/v2/', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('healthz and readyz', async () => {
    const health = await fixture.client.fetch('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fixture.client.fetch('/readyz');
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; checks: { component: string; ok: boolean }[] };
    assert.equal(body.status, 'ready');
    const { driver, store } = fixture.server.registry.services;
    assert.deepEqual(body.checks.map((check) => check.component), [`storage:${driver.name}`, `metadata:${store.name}`]);
    assert.deepEqual(body.checks.map((check) => check.component), scaleOut ? ['storage:s3', 'metadata:postgres'] : ['storage:filesystem', 'metadata:sqlite']);
  });

  test('unknown endpoint gets 404', async () => {
    await expectError(await fixture.client.fetch('/v1/_ping'), 404, 'NOT_FOUND');
    await expectError(await fixture.client.fetch('/v2/repo/unknown/thing'), 404, 'NOT_FOUND');
  });

  test('wrong method gets 405', async () => {
    const response = await fixture.client.fetch('/v2/', { method: 'DELETE' });
    await expectError(response, 405, 'UNSUPPORTED');
    assert.equal(response.headers.get('allow'), 'GET');
    await expectError(await fixture.client.fetch('/v2/repo/tags/list', { method: 'POST' }), 405, 'UNSUPPORTED');
  });

  const invalidNames = [
    'UPPER/case',
    'trailing-/x',
    'double//slash',
    '-leading',
    'a..b',
    'under___score',
    'space%20name',
    'encoded%2Fslash',
    `${'a'.repeat(256)}`,
  ];
  for (const name of invalidNames) {
    test(`invalid name ${name.slice(0, 20)}`, async () => {
      await expectError(await fixture.client.fetch(`/v2/${name}/tags/list`), 400, 'NAME_INVALID');
      await expectError(await fixture.client.fetch(`/v2/${name}/blobs/uploads/`, { method: 'POST' }), 400, 'NAME_INVALID');
    });
  }

  test('longest valid name accepted', async () => {
    const name = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    assert.equal(name.length, 255);
    const response = await fixture.client.fetch(`/v2/${name}/blobs/uploads/`, { method: 'POST' });
    assert.equal(response.status, 202);
  });

  test('separators allowed by grammar', async () => {
    for (const name of ['a.b/c_d/e__f', 'a-b--c/d', 'x/y/z/w/v']) {
      const response = await fixture.client.fetch(`/v2/${name}/blobs/uploads/`, { method: 'POST' });
      assert.equal(response.status, 202, name);
    }
  });

  test('dot segments never reach storage', async () => {
    for (const path of ['/v2/../../etc/passwd/tags/list', '/v2/a/../b/tags/list', '/v2/./a/tags/list', '/v2/a/%2e%2e/b/tags/list']) {
      const response = await rawRequest(fixture.server.url, 'GET', path);
      assert.equal(response.status, 400, `${path}: ${response.body}`);
      assert.match(response.body, /NAME_INVALID/);
    }
  });

  test('digest with path tricks', async () => {
    const response = await rawRequest(fixture.server.url, 'GET', '/v2/a/blobs/sha256:..%2F..%2Fetc%2Fpasswd');
    assert.equal(response.status, 400);
    assert.match(response.body, /DIGEST_INVALID/);
  });

  test('malformed HTTP gets 400', async () => {
    const { connect } = await import('node:net');
    const target = new URL(fixture.server.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname, () => socket.write('NONSENSE\r\n\r\n'));
      let data = '';
      socket.on('data', (part) => (data += part.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1.1 400/);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'REQUEST_INVALID');
  });
});
