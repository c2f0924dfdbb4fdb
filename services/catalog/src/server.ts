/**
 * Entry point of the catalog service: reads the configuration, creates the table where the database is
 * writable, listens, and on SIGTERM drains (readiness fails for `SHUTDOWN_DRAIN_SECONDS`, so the load balancer
 * stops sending) before it closes.
 */
import { buildCatalogApp } from './app';
import { CatalogStore } from './catalog';
import { CatalogConfigError, loadCatalogConfig } from './config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadCatalogConfig(process.env);
  } catch (err) {
    if (err instanceof CatalogConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const store = CatalogStore.connect(config.database);
  let draining = false;
  const app = buildCatalogApp({ config, store, draining: () => draining });
  app.log.info({ migration: await store.migrate() }, 'schema');
  await app.listen({ port: config.port, host: config.host });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    draining = true;
    app.log.info({ signal, drainSeconds: config.drainSeconds }, 'draining');
    setTimeout(() => {
      void app
        .close()
        .then(() => store.close())
        .then(() => process.exit(0));
    }, config.drainSeconds * 1000);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
