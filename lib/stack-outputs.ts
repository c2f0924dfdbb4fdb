/**
 * The keys of the stack outputs that the operator CLI and the region switch functions read at run time. They are
 * part of the contract between the app, the functions and the CLI, and live there (`contract/outputs.ts`); this
 * module keeps the app's stacks importing them from `lib/`.
 */
export {
  APP_OUTPUTS,
  DATA_OUTPUTS,
  DNS_OUTPUTS,
  OPERATIONS_OUTPUTS,
  PLAN_OUTPUTS,
  STORAGE_OUTPUTS,
  servicePascalName,
} from '../contract';
