import { AppConfigClient } from '@aws-sdk/client-appconfig';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import type { TargetKind } from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../../core/ports/action-target.js';
import { AppConfigTarget } from './appconfig.js';
import { CdnInvalidationTarget } from './cdn-invalidation.js';
import { FlagTableTarget } from './flag-table.js';
import { ActionTargets } from './registry.js';
import type { ActionTargetsConfig } from './schema.js';
import { DynamoDbSlotStore, type SlotStore } from './slot-store.js';
import { UsagePlanTarget } from './usage-plan.js';
import { WafRateLimitTarget } from './waf-rate-limit.js';
import { WebhookTarget, type WebhookOptions } from './webhook.js';

/** SDK clients; those not given are created with the default provider chain when their adapter is enabled. */
export interface ActionTargetClients {
  dynamo: DynamoDBClient;
  /** The state table (flags and the layer stacks of the AWS controls live there). */
  tableName: string;
  appConfig?: AppConfigClient;
  apiGateway?: APIGatewayClient;
  cloudFront?: CloudFrontClient;
  /** For scope CLOUDFRONT it must be a us-east-1 client. */
  wafv2?: WAFV2Client;
  /** Required when the webhook is enabled: the HMAC key, or a function fetching it from Secrets Manager. */
  webhookSecret?: WebhookOptions['secret'];
  webhookOptions?: Omit<WebhookOptions, 'secret'>;
  /** Override where flags and the AWS controls' layer stacks are kept (default: the state table). */
  slots?: SlotStore;
}

/** Only configured adapters are created; the flag table always is. */
export function createActionTargets(config: ActionTargetsConfig, clients: ActionTargetClients): ActionTargets {
  const slots = clients.slots ?? new DynamoDbSlotStore(clients.dynamo, clients.tableName);
  const targets: [TargetKind, ActionTarget][] = [['flag', new FlagTableTarget(slots)]];
  if (config.appConfig)
    targets.push([
      'appconfig',
      new AppConfigTarget(clients.appConfig ?? new AppConfigClient({}), config.appConfig, slots),
    ]);
  if (config.usagePlans)
    targets.push([
      'usage-plan',
      new UsagePlanTarget(clients.apiGateway ?? new APIGatewayClient({}), config.usagePlans, slots),
    ]);
  // CloudFront's API lives in us-east-1, as does WAF for CloudFront-scoped web ACLs.
  if (config.cloudFront)
    targets.push([
      'cdn-invalidation',
      new CdnInvalidationTarget(clients.cloudFront ?? new CloudFrontClient({ region: 'us-east-1' }), config.cloudFront),
    ]);
  if (config.waf) {
    const waf = clients.wafv2 ?? new WAFV2Client(config.waf.scope === 'CLOUDFRONT' ? { region: 'us-east-1' } : {});
    targets.push(['waf-rate-limit', new WafRateLimitTarget(waf, config.waf, slots)]);
  }
  if (config.webhook) {
    if (clients.webhookSecret === undefined)
      throw new Error(
        `webhook enabled but no secret given: resolve ${config.webhook.secretArn} and pass it as webhookSecret`,
      );
    targets.push([
      'webhook',
      new WebhookTarget(config.webhook, { ...clients.webhookOptions, secret: clients.webhookSecret }),
    ]);
  }
  return new ActionTargets(targets, config.unconfiguredTargets ?? 'error');
}
