// Baseline for bench/synth.ts: the smallest CDK app, one empty stack, run the
// same way as bin/app.ts (tsx, same aws-cdk-lib, same cdk.json flags).
import { App, Stack } from 'aws-cdk-lib';

const app = new App();
new Stack(app, 'Empty');
app.synth();
