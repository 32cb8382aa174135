import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { PathNotFoundError } from '../src/errors.js';
import type { StorageDriver } from '../src/storage/driver.js';

/** A driver under test and how to dispose of everything it created. */
export interface DriverFixture {
  readonly driver: StorageDriver;
  cleanup(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

async function writeObject(driver: StorageDriver, path: string, data: Buffer): Promise<void> {
  const writer = await driver.writer(path, 0);
  await writer.write(data);
  await writer.commit();
}

/**
 * The shared storage-driver suite: every driver must pass it unchanged. `create` returns a driver
 * on an empty store for the whole suite.
 */
export function runStorageDriverSuite(name: string, create: () => Promise<DriverFixture>): void {
  describe(`storage driver ${name}`, () => {
    let fixture: DriverFixture;
    let driver: StorageDriver;
    let prefix = 0;
    const fresh = (): string => `suite/${++prefix}`;

    before(async () => {
      fixture = await create();
      driver = fixture.driver;
    });
    after(async () => {
      await fixture.cleanup();
    });

    test('write commit then read back', async () => {
      const path = `${fresh()}/object`;
      const data = randomBytes(100_000);
      await writeObject(driver, path, data);
      assert.deepEqual(await readAll(await driver.read(path)), data);
      assert.equal((await driver.stat(path)).size, data.length);
    });

    test('close makes bytes readable', async () => {
      const path = `${fresh()}/closed`;
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const writer = await driver.writer(path, 0);
      await writer.write(data);
      await writer.close();
      assert.deepEqual(await readAll(await driver.read(path)), data);
      const again = await driver.writer(path, data.length);
      await again.commit();
      assert.equal((await driver.stat(path)).size, data.length);
    });

    test('empty object round trip', async () => {
      const path = `${fresh()}/empty`;
      const writer = await driver.writer(path, 0);
      await writer.commit();
      assert.equal((await driver.stat(path)).size, 0);
      assert.equal((await readAll(await driver.read(path))).length, 0);
    });

    test('read range of an object', async () => {
      const path = `${fresh()}/ranged`;
      const data = randomBytes(10_000);
      await writeObject(driver, path, data);
      assert.deepEqual(await readAll(await driver.read(path, { offset: 100, length: 50 })), data.subarray(100, 150));
      assert.deepEqual(await readAll(await driver.read(path, { offset: 9_999, length: 1 })), data.subarray(9_999));
      assert.equal((await readAll(await driver.read(path, { offset: 10, length: 0 }))).length, 0);
    });

    test('append across writers', async () => {
      const path = `${fresh()}/appended`;
      const first = randomBytes(3_000);
      const second = randomBytes(5_000);
      await writeObject(driver, path, first);
      const writer = await driver.writer(path, first.length);
      assert.equal(writer.size, first.length);
      await writer.write(second);
      assert.equal(writer.size, first.length + second.length);
      await writer.commit();
      assert.deepEqual(await readAll(await driver.read(path)), Buffer.concat([first, second]));
    });

    test('writer discards bytes past offset', async () => {
      const path = `${fresh()}/truncated`;
      const data = randomBytes(4_000);
      await writeObject(driver, path, data);
      const writer = await driver.writer(path, 1_000);
      const tail = randomBytes(10);
      await writer.write(tail);
      await writer.commit();
      assert.deepEqual(await readAll(await driver.read(path)), Buffer.concat([data.subarray(0, 1_000), tail]));
    });

    test('cancel restores previous size', async () => {
      const path = `${fresh()}/cancelled`;
      const data = randomBytes(2_000);
      await writeObject(driver, path, data);
      const writer = await driver.writer(path, data.length);
      await writer.write(randomBytes(6 * 1024 * 1024));
      await writer.cancel();
      assert.equal((await driver.stat(path)).size, data.length);
      assert.deepEqual(await readAll(await driver.read(path)), data);
    });

    test('writer beyond end is rejected', async () => {
      const path = `${fresh()}/short`;
      await writeObject(driver, path, randomBytes(10));
      await assert.rejects(driver.writer(path, 20), PathNotFoundError);
      await assert.rejects(driver.writer(`${fresh()}/missing`, 5), PathNotFoundError);
    });

    test('large object in many chunks', async () => {
      const path = `${fresh()}/large`;
      const writer = await driver.writer(path, 0);
      const chunk = randomBytes(64 * 1024);
      for (let index = 0; index < 160; index++) await writer.write(chunk);
      await writer.commit();
      assert.equal((await driver.stat(path)).size, 160 * chunk.length);
      const tail = await readAll(await driver.read(path, { offset: 159 * chunk.length, length: chunk.length }));
      assert.deepEqual(tail, chunk);
    });

    test('move replaces destination', async () => {
      const base = fresh();
      const first = randomBytes(500);
      const second = randomBytes(700);
      await writeObject(driver, `${base}/a`, first);
      await writeObject(driver, `${base}/b`, second);
      await driver.move(`${base}/a`, `${base}/moved/deep/c`);
      await assert.rejects(driver.stat(`${base}/a`), PathNotFoundError);
      assert.deepEqual(await readAll(await driver.read(`${base}/moved/deep/c`)), first);
      await driver.move(`${base}/b`, `${base}/moved/deep/c`);
      assert.deepEqual(await readAll(await driver.read(`${base}/moved/deep/c`)), second);
    });

    test('move of missing source fails', async () => {
      const base = fresh();
      await assert.rejects(driver.move(`${base}/nothing`, `${base}/target`), PathNotFoundError);
    });

    test('missing paths raise PathNotFoundError', async () => {
      const path = `${fresh()}/absent`;
      await assert.rejects(driver.stat(path), PathNotFoundError);
      await assert.rejects(driver.read(path), PathNotFoundError);
    });

    test('delete object and subtree', async () => {
      const base = fresh();
      await writeObject(driver, `${base}/one`, randomBytes(10));
      await writeObject(driver, `${base}/tree/two`, randomBytes(10));
      await writeObject(driver, `${base}/tree/sub/three`, randomBytes(10));
      await driver.delete(`${base}/one`);
      await assert.rejects(driver.stat(`${base}/one`), PathNotFoundError);
      await driver.delete(`${base}/tree`);
      await assert.rejects(driver.stat(`${base}/tree/sub/three`), PathNotFoundError);
      await driver.delete(`${base}/never-existed`);
      assert.deepEqual(await driver.list(base), []);
    });

    test('list direct children sorted', async () => {
      const base = fresh();
      await writeObject(driver, `${base}/b`, randomBytes(1));
      await writeObject(driver, `${base}/a`, randomBytes(1));
      await writeObject(driver, `${base}/dir/c`, randomBytes(1));
      assert.deepEqual(await driver.list(base), ['a', 'b', 'dir']);
      assert.deepEqual(await driver.list(`${base}/missing`), []);
    });

    test('paths escaping the root are rejected', async () => {
      await assert.rejects(driver.stat('../etc/passwd'));
      await assert.rejects(driver.writer('a/../../escape', 0));
      await assert.rejects(driver.delete('/absolute'));
    });

    test('ping succeeds', async () => {
      await driver.ping();
    });
  });
}
