/**
 * efs-replication's Lambda entry point; the logic, and its documentation, are in ./replication.ts
 * (shared with rejoin, which reverses replication for failback).
 */
import { EFSClient } from '@aws-sdk/client-efs';
import { defineHandler } from '../shared/runtime';
import { clientConfig } from '../shared/sdk';
import { efsOptions, FUNCTION_NAME, loadEfsReplicationConfig, runEfsReplication, type EfsClients } from './replication';

export * from './replication';

/** Lambda entry point. */
export const handler = defineHandler(FUNCTION_NAME, loadEfsReplicationConfig, (request, config, rt) => {
  efsOptions(request.input);
  const clients: EfsClients = {
    target: new EFSClient(clientConfig(request.targetRegion)),
    source: new EFSClient(clientConfig(request.sourceRegion)),
  };
  return runEfsReplication(clients, request, config, rt);
});
