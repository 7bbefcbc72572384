import { createAnomalyGuardApp } from '../lib/anomaly-guard-app.js';

const { app } = createAnomalyGuardApp({
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
