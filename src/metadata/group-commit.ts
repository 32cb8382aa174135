/** Runs `work` inside one database transaction and resolves with its result once committed. */
export type TransactionRunner<Transaction> = <T>(work: (trx: Transaction) => Promise<T>) => Promise<T>;

interface Job<Transaction> {
  readonly work: (trx: Transaction) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: write jobs submitted during the same event-loop turn run in one transaction, so
 * they share one commit and one flush to disk instead of paying for one each. Every job's promise
 * settles only after the commit. When a batch fails, its jobs run again one transaction each, so
 * a bad job fails alone and the others still commit.
 */
export class GroupCommit<Transaction> {
  private queue: Job<Transaction>[] = [];
  private scheduled = false;

  constructor(private readonly transaction: TransactionRunner<Transaction>) {}

  /** Queues `work` for the next batch; resolves with its result after the batch commits. */
  submit<T>(work: (trx: Transaction) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    if (batch.length === 1) {
      await this.runAlone(batch[0] as Job<Transaction>);
      return;
    }
    let results: unknown[];
    try {
      results = await this.transaction(async (trx) => {
        const values: unknown[] = [];
        for (const job of batch) values.push(await job.work(trx));
        return values;
      });
    } catch {
      for (const job of batch) await this.runAlone(job);
      return;
    }
    batch.forEach((job, index) => job.resolve(results[index]));
  }

  private async runAlone(job: Job<Transaction>): Promise<void> {
    try {
      job.resolve(await this.transaction(job.work));
    } catch (error) {
      job.reject(error);
    }
  }
}
