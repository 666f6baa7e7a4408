/**
 * The CDK app (`cdk.json`'s `app`): one shelfwatch deployment, configured by context
 * (`-c target=lambda`, `-c shardCount=4`, …; see lib/config.ts and README.md), checked by cdk-nag.
 */
import { App } from 'aws-cdk-lib';
import { configFromContext } from '../lib/config.js';
import { buildShelfwatch, checkWithCdkNag } from '../lib/shelfwatch-app.js';

const app = new App();
buildShelfwatch(app, configFromContext(app.node));
checkWithCdkNag(app);
app.synth();
