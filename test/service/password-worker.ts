/**
 * The password workers' entry in tests: the service's entry (server.ts, bundled) runs the worker loop in a thread
 * started with the password worker's `workerData`; jest's workers load this TypeScript file instead, with tsx
 * (`workerExecArgv` of service/src/password-hasher.ts), as a worker thread cannot load TypeScript by itself.
 */
import { runPasswordWorker } from '../../service/src/passwords';

runPasswordWorker();
