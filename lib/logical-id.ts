import type { CfnResource } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** Keep a stateful resource's logical id whatever its construct path becomes (a refactor must never replace it). */
export function pinLogicalId(construct: Construct, logicalId: string): void {
  (construct.node.defaultChild as CfnResource).overrideLogicalId(logicalId);
}
