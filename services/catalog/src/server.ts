/**
 * Entry point of the catalog service: reads the configuration, creates the table where the database is
 * writable, listens, and on SIGTERM drains (readiness fails for `SHUTDOWN_DRAIN_SECONDS`, so the load balancer
 * stops sending) before it closes.
 */
import { buildCatalogApp } from './app';
import { CatalogStore } from './catalog';
import { CatalogConfigError, loadCatalogConfig } from './config';

/** Seconds between migration attempts while the database cannot be written (the passive region, an outage). */
const MIGRATION_RETRY_SECONDS = 30;
/** Seconds the listener gets to finish its requests after the drain, before the process exits anyway. */
const CLOSE_TIMEOUT_SECONDS = 30;

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
  // The table is created once the database can be written; until then readiness says not ready (no table) in
  // the active region, and the passive region has it by replication.
  void store
    .migrateUntilApplied(MIGRATION_RETRY_SECONDS * 1000, () => draining)
    .then(() => app.log.info('schema applied'))
    .catch((err: unknown) => app.log.error({ err }, 'schema migration failed'));
  await app.listen({ port: config.port, host: config.host });

  const stop = (signal: string): void => {
    if (draining) return;
    draining = true;
    app.log.info({ signal, drainSeconds: config.drainSeconds }, 'draining');
    setTimeout(() => {
      setTimeout(() => {
        app.log.error({ timeoutSeconds: CLOSE_TIMEOUT_SECONDS }, 'shutdown: time limit reached, exiting');
        process.exit(1);
      }, CLOSE_TIMEOUT_SECONDS * 1000).unref();
      app
        .close()
        .then(() => store.close())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            app.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
    }, config.drainSeconds * 1000);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `catalog service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
