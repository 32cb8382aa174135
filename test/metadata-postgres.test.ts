import { test } from 'node:test';
import pino from 'pino';
import { openPostgresStore } from '../src/metadata/postgres.js';
import { dropTestSchema, postgresUnavailable, testPostgresOptions } from './helpers/postgres.js';
import { runMetadataStoreSuite } from './metadata-store-suite.js';

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI === 'true') throw new Error(`${unavailable} (CI=true, so a missing database fails the tests)`);

if (unavailable) {
  test('metadata store postgres', (t) => t.skip(unavailable));
} else {
  runMetadataStoreSuite('postgres', async () => {
    const options = testPostgresOptions();
    const store = openPostgresStore(options, pino({ level: 'silent' }));
    await store.migrate();
    return {
      store,
      async cleanup() {
        await store.close();
        await dropTestSchema(options.schema);
      },
    };
  });
}
