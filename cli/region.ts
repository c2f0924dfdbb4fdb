import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { setTimeout as delay } from 'node:timers/promises';
import { sdkClients } from './clients';
import { main } from './main';

// Entry point of `npm run region -- <command>`: wiring only, the logic is in main.ts.

const credentials = defaultProvider();

main(process.argv.slice(2), {
  credentials,
  fetch,
  clients: sdkClients({ credentials }),
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  now: () => new Date(),
  sleep: (ms) => delay(ms),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
