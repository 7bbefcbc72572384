import type { Stack } from 'aws-cdk-lib';

/**
 * How cdk-nag names a resource in a finding id (`AwsSolutions-IAM5[Resource::<name>]`): intrinsics
 * flattened, `Ref` as `<Id>` and `Fn::GetAtt` as `<Id.Attr>`. Resolved now, so logical ids pinned
 * later are not seen: pin the referenced resources before acknowledging a finding that names them.
 */
export function nagArn(stack: Stack, arn: string): string {
  const flat = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map(flat).join('');
    const o = v as Record<string, unknown>;
    if ('Ref' in o) return `<${String(o.Ref)}>`;
    if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flat).join(sep);
    }
    return JSON.stringify(o);
  };
  return flat(stack.resolve(arn));
}
