import { readFileSync } from 'node:fs';
import { validate } from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { CedarGuardrails, GuardrailPolicyError } from '../../../../lambdas/adapters/guardrails.js';
import { GUARDRAILS_POLICY, GUARDRAILS_SCHEMA } from '../../../../policies/embedded.js';
import { renderEmbedded } from '../../../../policies/sync.js';

const file = (name: string) => readFileSync(new URL(`../../../../policies/${name}`, import.meta.url), 'utf8');

describe('policy files', () => {
  it('the embedded copy the Lambda bundles equals policies/*.cedar* (else run `npx tsx policies/sync.ts`)', () => {
    expect(GUARDRAILS_POLICY).toBe(file('guardrails.cedar'));
    expect(GUARDRAILS_SCHEMA).toBe(file('schema.cedarschema'));
    expect(file('embedded.ts')).toBe(renderEmbedded());
  });

  it('the embedded text survives characters a template literal would interpret', () => {
    const tricky = 'a `quoted` ${not.interpolated} back\\slash';
    const module = renderEmbedded(() => tricky);
    expect(module).toContain('export const GUARDRAILS_POLICY = `a \\`quoted\\` \\${not.interpolated} back\\\\slash`;');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const evaluated = new Function(
      `${module.replaceAll('export const', 'const')}; return GUARDRAILS_POLICY;`,
    )() as string;
    expect(evaluated).toBe(tricky);
  });

  it('the policies validate against the schema in strict mode', () => {
    const answer = validate({
      schema: file('schema.cedarschema'),
      policies: { staticPolicies: file('guardrails.cedar') },
      validationSettings: { mode: 'strict' },
    });
    expect(answer).toMatchObject({ type: 'success', validationErrors: [], validationWarnings: [] });
  });

  it('loads, with one policy per @id', () => {
    // Cedar does not keep the file order of the parts: compare as sets.
    expect([...new CedarGuardrails().policyIds].sort()).toEqual(
      [
        'permit-soft-apply',
        'permit-hard-apply',
        'operator-overrides-release-guard',
        'permit-rollback',
        'deny-cross-region',
        'campaign-soft-only',
        'release-prefers-rollback',
        'step-needs-approval',
        'kill-switch',
        'platform-step-needs-multi-tenant-incident',
        'irreversible-step-needs-multi-tenant-incident',
        'unknown-region-not-automatic',
        'deny-region-not-touched',
      ].sort(),
    );
  });
});

describe('a broken policy fails loudly at load', () => {
  const load =
    (policies: string, schema = GUARDRAILS_SCHEMA) =>
    () =>
      new CedarGuardrails({ policies, schema });

  it.each([
    [
      'a context attribute the schema does not have',
      GUARDRAILS_POLICY.replace('context.crossRegion }', 'context.crossRegoin }'),
      /do not validate against the schema[\s\S]*crossRegoin/,
    ],
    [
      'an action the schema does not have',
      GUARDRAILS_POLICY + '\n@id("x") permit (principal, action == AnomalyGuard::Action::"delete", resource);',
      /do not validate against the schema[\s\S]*delete/,
    ],
    [
      'a type error',
      GUARDRAILS_POLICY.replace('context.level == "soft" };', 'context.level == 1 };'),
      /do not validate against the schema/,
    ],
    [
      'a syntax error',
      GUARDRAILS_POLICY.replace(
        'forbid (principal, action == AnomalyGuard::Action::"apply", resource)\nwhen { context.crossRegion };',
        'forbid (principal, action, resource) when { context.crossRegion ',
      ),
      /do not parse/,
    ],
    [
      'a policy without @id',
      GUARDRAILS_POLICY + '\npermit (principal, action, resource);',
      /needs an @id\("..."\) annotation[\s\S]*permit \(principal, action, resource\)/,
    ],
    [
      'a duplicate @id',
      GUARDRAILS_POLICY + '\n@id("kill-switch") forbid (principal, action, resource);',
      /duplicate guardrail policy @id[\s\S]*kill-switch/,
    ],
    ['an empty policy set', '// nothing\n', /empty/],
  ])('%s', (_name, policies, message) => {
    expect(load(policies)).toThrow(GuardrailPolicyError);
    expect(load(policies)).toThrow(message);
  });

  it('a broken schema', () => {
    expect(load(GUARDRAILS_POLICY, GUARDRAILS_SCHEMA.replace('killSwitch: Bool,', 'killSwitch: Boolean,'))).toThrow(
      GuardrailPolicyError,
    );
    expect(load(GUARDRAILS_POLICY, GUARDRAILS_SCHEMA.replace('entity Tenant;', 'entity Tenant'))).toThrow(
      GuardrailPolicyError,
    );
  });
});
