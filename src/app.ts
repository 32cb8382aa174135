import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { openMetadata, openStorage } from './backends.js';
import { parseListenAddress, type Config } from './config/schema.js';
import type { Services } from './http/context.js';
import { createHttpServer } from './http/server.js';
import { BlobService } from './registry/blobs.js';
import { ManifestService } from './registry/manifests.js';
import { UploadService } from './registry/uploads.js';

/** A running registry: its HTTP server, storage driver, metadata store and background jobs. */
export class Registry {
  private purgeTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly config: Config,
    readonly services: Services,
    readonly server: Server,
    readonly log: Logger,
  ) {}

  /**
   * Opens storage and metadata (applying migrations), starts the HTTP server on the configured
   * address and the upload purge job. Resolves once the server is listening.
   */
  static async start(config: Config, log: Logger): Promise<Registry> {
    const { driver, location: storage } = await openStorage(config);
    const { store, location: metadata } = await openMetadata(config, log);
    let registry: Registry;
    try {
      await store.migrate();
      const services: Services = {
        config,
        driver,
        store,
        blobs: new BlobService(driver, store, log, config.storage.s3.redirect.enabled ? config.storage.s3.redirect : undefined),
        // Nodes that share a PostgreSQL store take a lease on an upload session for each request.
        uploads: new UploadService(driver, store, log, config.metadata.driver === 'postgres' ? { ttlMs: 10_000 } : undefined),
        manifests: new ManifestService(store),
      };
      const server = createHttpServer(services, log);
      registry = new Registry(config, services, server, log);
      await listen(server, config.listen);
    } catch (error) {
      await store.close();
      throw error;
    }
    registry.schedulePurge();
    log.info({ address: registry.address(), storage, metadata }, 'registry listening');
    return registry;
  }

  /** Returns the bound address as HOST:PORT, with the real port when port 0 was configured. */
  address(): string {
    const info = this.server.address() as AddressInfo;
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    return `${host}:${info.port}`;
  }

  /**
   * Stops accepting connections, lets requests in flight finish for up to the shutdown timeout,
   * then closes the remaining connections and the database. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.purgeTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Keep-alive connections become idle once their request finishes; close them as they do.
    const idleSweep = setInterval(() => this.server.closeIdleConnections(), 100);
    this.server.closeIdleConnections();
    const timeout = setTimeout(() => {
      this.log.warn('shutdown timeout reached, closing open connections');
      this.server.closeAllConnections();
    }, this.config.shutdown.timeoutSeconds * 1000);
    await closed;
    clearInterval(idleSweep);
    clearTimeout(timeout);
    await this.services.store.close();
    this.log.info('registry stopped');
  }

  private schedulePurge(): void {
    const { expireAfterSeconds, purgeIntervalSeconds } = this.config.uploads;
    const run = async (): Promise<void> => {
      try {
        const purged = await this.services.uploads.purgeStale(Date.now() - expireAfterSeconds * 1000);
        if (purged > 0) this.log.info({ purged }, 'expired upload sessions purged');
      } catch (error) {
        this.log.error({ err: error }, 'failed to purge expired upload sessions');
      }
      if (!this.stopping) this.purgeTimer = setTimeout(() => void run(), purgeIntervalSeconds * 1000).unref();
    };
    this.purgeTimer = setTimeout(() => void run(), 1000).unref();
  }
}

async function listen(server: Server, listenAddress: string): Promise<void> {
  const address = parseListenAddress(listenAddress);
  if (!address) throw new Error(`invalid listen address ${listenAddress}`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
