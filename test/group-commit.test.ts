import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GroupCommit } from '../src/metadata/group-commit.js';

/** Creates a fake transaction runner that records the jobs each transaction ran, committing only when all succeed. */
function recordingRunner(): { runner: <T>(work: (trx: string[]) => Promise<T>) => Promise<T>; committed: string[][]; transactions: () => number } {
  const committed: string[][] = [];
  let transactions = 0;
  return {
    committed,
    transactions: () => transactions,
    async runner<T>(work: (trx: string[]) => Promise<T>): Promise<T> {
      transactions++;
      const trx: string[] = [];
      const result = await work(trx);
      committed.push(trx);
      return result;
    },
  };
}

describe('group commit', () => {
  test('same-turn jobs share a transaction', async () => {
    const log = recordingRunner();
    const group = new GroupCommit(log.runner);
    const results = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        group.submit(async (trx) => {
          trx.push(name);
          return name.toUpperCase();
        }),
      ),
    );
    assert.deepEqual(results, ['A', 'B', 'C']);
    assert.equal(log.transactions(), 1);
    assert.deepEqual(log.committed, [['a', 'b', 'c']]);
  });

  test('later jobs form a new batch', async () => {
    const log = recordingRunner();
    const group = new GroupCommit(log.runner);
    await group.submit(async (trx) => void trx.push('first'));
    await group.submit(async (trx) => void trx.push('second'));
    assert.deepEqual(log.committed, [['first'], ['second']]);
  });

  test('failing job fails alone', async () => {
    const log = recordingRunner();
    const group = new GroupCommit(log.runner);
    const outcomes = await Promise.allSettled([
      group.submit(async (trx) => void trx.push('good-1')),
      group.submit(async () => {
        throw new Error('constraint violated');
      }),
      group.submit(async (trx) => void trx.push('good-2')),
    ]);
    assert.equal(outcomes[0]?.status, 'fulfilled');
    assert.equal(outcomes[1]?.status, 'rejected');
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /constraint violated/);
    assert.equal(outcomes[2]?.status, 'fulfilled');
    assert.deepEqual(log.committed, [['good-1'], ['good-2']]);
  });

  test('single failing job rejects', async () => {
    const group = new GroupCommit(recordingRunner().runner);
    await assert.rejects(
      group.submit(async () => {
        throw new Error('disk full');
      }),
      /disk full/,
    );
  });
});
