/**
 * The contract between the CDK app (`lib/`), the region switch functions (`lambda/`) and the operator CLI (`cli/`):
 * every name one of them writes and another reads. Each side imports it, so a rename here changes every side, and a
 * name changed on one side only fails to compile, or fails `test/contract.test.ts` against the synthesized
 * templates, rather than a deployed function or the CLI at run time.
 *
 * No import of aws-cdk-lib or of the AWS SDK: the Lambda bundles include it.
 */
export * from './components';
export * from './metrics';
export * from './outputs';
export * from './stacks';
export * from './switch-functions';
