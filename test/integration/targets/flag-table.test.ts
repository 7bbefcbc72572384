import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppliedAction, PlannedAction, PlaybookStep } from '../../../lambdas/core/mitigation/actions.js';
import {
  FlagTableTarget,
  flagItemKey,
  readFlags,
  readTenantFlags,
  setOperatorFlag,
} from '../../../lambdas/adapters/targets/flag-table.js';
import { createActionTargets } from '../../../lambdas/adapters/targets/index.js';
import { DynamoDbSlotStore } from '../../../lambdas/adapters/targets/slot-store.js';
import { UsagePlanTarget } from '../../../lambdas/adapters/targets/usage-plan.js';
import { action, FakeApiGateway } from '../../unit/adapters/targets/fakes.js';
import { createTablesFromTemplate, startStandIns, type StandIns } from '../../../local/stand-ins.js';
import { stackTemplate } from '../harness.js';

const T = Date.parse('2026-11-22T10:05:00Z');

let standIns: StandIns;
let table: string;
let doc: DynamoDBDocumentClient;
let flags: FlagTableTarget;
let n = 0;

beforeAll(async () => {
  standIns = await startStandIns();
  // The table under test is the one the synthesized stack declares (key schema from the template).
  const tables = await createTablesFromTemplate(standIns.dynamo, stackTemplate(), 'flags-');
  table = [...tables.values()][0]!;
  doc = DynamoDBDocumentClient.from(standIns.dynamo);
  flags = new FlagTableTarget(standIns.dynamo, table);
});
afterAll(() => standIns.close());

/** A fresh tenant per test so tests do not see each other's flags. */
function tenant() {
  return `t${++n}`;
}

function act(
  tenantId: string,
  key: string,
  value: PlaybookStep['value'],
  flag = 'search.rows.max',
  undo: PlaybookStep['undo'] = 'restore-previous',
): PlannedAction {
  return {
    rollbackKey: key,
    episodeId: key.split('/')[0]!,
    tenant: tenantId,
    region: 'kr',
    step: { id: `search-cost/${flag}`, title: flag, level: 'soft', target: 'flag', flag, value, undo },
  };
}

async function item(tenantId: string, flag = 'search.rows.max') {
  return (await doc.send(new GetCommand({ TableName: table, Key: flagItemKey(tenantId, flag), ConsistentRead: true })))
    .Item;
}

async function flagValue(tenantId: string, flag = 'search.rows.max') {
  return (await readFlags(standIns.dynamo, table, tenantId)).get(flag)?.value;
}

/** What an operator's script does: set the flag directly, saying who set it. */
async function operatorSets(tenantId: string, value: unknown, who = 'operator:alice') {
  await doc.send(
    new UpdateCommand({
      TableName: table,
      Key: flagItemKey(tenantId, 'search.rows.max'),
      UpdateExpression: 'SET #v = :v, setBy = :by, version = if_not_exists(version, :zero) + :one',
      ExpressionAttributeNames: { '#v': 'value' },
      ExpressionAttributeValues: { ':v': value, ':by': who, ':zero': 0, ':one': 1 },
    }),
  );
}

describe('flag table on dynalite, table created from the synthesized template', () => {
  it('apply sets the flag for the tenant; services read all its flags in one query', async () => {
    const t = tenant();
    const a = act(t, 'ep1/rows', 200);
    const applied = await flags.apply(a, T);
    await flags.apply(act(t, 'ep1/facet', 50, 'search.facet.limit'), T);

    expect(applied).toEqual({
      ...a,
      previous: null,
      appliedAt: T,
      targetRef: `flags#${t}/search.rows.max`,
      actedVia: { control: 'flag', description: 'flag written for the service to read' },
    });
    expect(await item(t)).toMatchObject({
      pk: `flags#${t}`,
      sk: 'search.rows.max',
      value: 200,
      setBy: 'ep1/rows',
      previous: null,
      updatedAt: T,
      version: 1,
      tenant: t,
      region: 'kr',
    });
    const read = await readFlags(standIns.dynamo, table, t);
    expect(Object.fromEntries([...read].map(([k, v]) => [k, v.value]))).toEqual({
      'search.rows.max': 200,
      'search.facet.limit': 50,
    });
    expect(read.get('search.rows.max')!.setBy).toBe('ep1/rows');
    expect((await readFlags(standIns.dynamo, table, tenant())).size).toBe(0);
  });

  it("applies and rolls back over an operator's direct write (setOperatorFlag), which then stands again", async () => {
    const t = tenant();
    await setOperatorFlag(standIns.dynamo, table, t, 'search.rows.max', 1000, 'operator:bob', T - 60_000);
    const applied = await flags.apply(act(t, 'ep1/rows', 200), T);
    expect(applied.previous).toBe(1000);
    expect(await item(t)).toMatchObject({ value: 200, setBy: 'ep1/rows' });
    await flags.rollback(applied, T + 60_000);
    expect(await item(t)).toMatchObject({ value: 1000, setBy: 'operator:bob' });
  });

  it("an operator's write between an action's read and its write is not overwritten: the action re-reads", async () => {
    const t = tenant();
    const applied = await flags.apply(act(t, 'ep1/rows', 200), T);
    await setOperatorFlag(standIns.dynamo, table, t, 'search.rows.max', 500, 'operator:bob', T + 1);
    expect(await item(t)).toMatchObject({ value: 500, setBy: 'operator:bob', version: 2 });
    // The operator's value wins over the action's rollback, which leaves it alone.
    await flags.rollback(applied, T + 60_000);
    expect(await item(t)).toMatchObject({ value: 500, setBy: 'operator:bob' });
  });

  it('applied twice is applied once: same AppliedAction, no second write', async () => {
    const t = tenant();
    const a = act(t, 'ep1/rows', 200);
    const first = await flags.apply(a, T);
    const second = await flags.apply(a, T + 60_000);
    expect(second).toEqual(first);
    expect(await item(t)).toMatchObject({ version: 1, updatedAt: T });
  });

  it('the same action applied concurrently lands once and both callers get the same answer', async () => {
    const t = tenant();
    const a = act(t, 'ep1/rows', 200);
    const [x, y] = await Promise.all([flags.apply(a, T), flags.apply(a, T + 1)]);
    expect(x).toEqual(y);
    const it = await item(t);
    expect(it!.layers).toHaveLength(1);
    expect(it!.version).toBe(1);
  });

  it('two different actions racing on one flag both land, stack, and unwind to the original', async () => {
    const t = tenant();
    await operatorSets(t, 1000);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => flags.apply(act(t, `ep${i}/rows`, 100 + i), T + i)),
    );
    const it = await item(t);
    expect(it!.layers).toHaveLength(6);
    // Each saw the value of the one applied just before it: one of them saw the operator's 1000.
    const top = (it!.layers as { key: string; value: number }[]).at(-1)!;
    expect(it!.value).toBe(top.value);
    expect(it!.setBy).toBe(top.key);
    expect(results.map((r) => r.previous).filter((p) => p === 1000)).toHaveLength(1);
    expect(new Set(results.map((r) => r.previous)).size).toBe(6);

    await Promise.all(results.map((r, i) => flags.rollback(r, T + 100 + i)));
    expect(await item(t)).toMatchObject({ value: 1000, setBy: 'operator:alice' });
  });

  it('rollback restores the previous value; a second rollback changes nothing', async () => {
    const t = tenant();
    await operatorSets(t, 1000);
    const applied = await flags.apply(act(t, 'ep1/rows', 200), T);
    expect(applied.previous).toBe(1000);
    await expect(flags.rollbackWithOutcome(applied, T + 900_000)).resolves.toBe('restored');
    expect(await flagValue(t)).toBe(1000);
    const after = await item(t);
    await expect(flags.rollbackWithOutcome(applied, T + 960_000)).resolves.toBe('already-rolled-back');
    expect(await item(t)).toEqual(after);
  });

  it('rolling back a flag that did not exist before unsets it (readers fall back to their default)', async () => {
    const t = tenant();
    const applied = await flags.apply(act(t, 'ep1/rows', 200), T);
    await flags.rollback(applied, T + 1);
    expect((await readFlags(standIns.dynamo, table, t)).has('search.rows.max')).toBe(false);
    expect(await item(t)).toMatchObject({ value: null, setBy: null });
  });

  it('a late retry of an apply after its rollback does not switch the mitigation back on', async () => {
    const t = tenant();
    const a = act(t, 'ep1/rows', 200);
    const applied = await flags.apply(a, T);
    await flags.rollback(applied, T + 900_000);
    expect(await flags.apply(a, T + 900_500)).toEqual(applied);
    expect(await flagValue(t)).toBeUndefined();
  });

  it('rollback after someone else changed the flag leaves their value alone', async () => {
    const t = tenant();
    await operatorSets(t, 1000);
    const applied = await flags.apply(act(t, 'ep1/rows', 200), T);
    await operatorSets(t, 500, 'operator:bob');
    // A late retry of the displaced action's apply does not take the flag back from the operator.
    expect(await flags.apply(act(t, 'ep1/rows', 200), T + 600_000)).toEqual(applied);
    expect(await item(t)).toMatchObject({ value: 500, setBy: 'operator:bob' });
    await expect(flags.rollbackWithOutcome(applied, T + 900_000)).resolves.toBe('not-owned');
    expect(await item(t)).toMatchObject({ value: 500, setBy: 'operator:bob' });
    await expect(flags.rollbackWithOutcome(applied, T + 900_001)).resolves.toBe('already-rolled-back');

    // The next action stacks on the operator's value and restores it on rollback.
    const next = await flags.apply(act(t, 'ep2/rows', 100), T + 1_000_000);
    expect(next.previous).toBe(500);
    await flags.rollback(next, T + 1_100_000);
    expect(await item(t)).toMatchObject({ value: 500, setBy: 'operator:bob' });
  });

  it('stacked actions rolled back out of order: the older one’s value never comes back', async () => {
    const t = tenant();
    await operatorSets(t, 1000);
    const older = await flags.apply(act(t, 'ep1/rows', 500), T);
    const newer = await flags.apply(act(t, 'ep2/rows', 200), T + 60_000);
    expect(newer.previous).toBe(500);
    await expect(flags.rollbackWithOutcome(older, T + 120_000)).resolves.toBe('superseded');
    expect(await item(t)).toMatchObject({ value: 200, setBy: 'ep2/rows' });
    await expect(flags.rollbackWithOutcome(newer, T + 180_000)).resolves.toBe('restored');
    expect(await item(t)).toMatchObject({ value: 1000, setBy: 'operator:alice' });
  });

  it('a step with undo "none" stays applied through rollback', async () => {
    const t = tenant();
    const applied = await flags.apply(act(t, 'ep1/cache', true, 'cache.force', 'none'), T);
    await expect(flags.rollbackWithOutcome(applied, T + 1)).resolves.toBe('nothing-to-undo');
    expect(await flagValue(t, 'cache.force')).toBe(true);
  });

  it('object values round-trip, and tenant flags override global ones', async () => {
    const t = tenant();
    await flags.apply(
      { ...act('*', `glob-${t}/ttl`, { ttlSeconds: 60, keys: ['q', 'page'] }, `cache.policy.${t}`) },
      T,
    );
    await flags.apply({ ...act(t, 'ep1/ttl', { ttlSeconds: 90, keys: ['q'] }, `cache.policy.${t}`) }, T);
    await flags.apply({ ...act('*', `glob-${t}/dedupe`, 30, `notify.dedupe.${t}`) }, T);
    const read = await readTenantFlags(standIns.dynamo, table, t);
    expect(read.get(`cache.policy.${t}`)!.value).toEqual({ ttlSeconds: 90, keys: ['q'] });
    expect(read.get(`notify.dedupe.${t}`)!.value).toBe(30);
  });

  it('a step whose adapter is not enabled: an error by default, the flag table when configured so', async () => {
    const t = tenant();
    const waf: PlannedAction = {
      ...act(t, 'ep1/waf', 100, 'search-per-ip'),
      step: { ...act(t, 'ep1/waf', 100, 'search-per-ip').step, target: 'waf-rate-limit' },
    };
    const strict = createActionTargets({}, { dynamo: standIns.dynamo, tableName: table });
    expect(() => strict.targetFor('waf-rate-limit')).toThrow(
      new RegExp(
        String.raw`action target 'waf-rate-limit' is not enabled: configure actionTargets\.waf = ` +
          String.raw`\{webAclName, webAclId, scope, ruleNames`,
      ),
    );

    const lenient = createActionTargets(
      { unconfiguredTargets: 'flag-table' },
      { dynamo: standIns.dynamo, tableName: table },
    );
    const target = lenient.targetFor('waf-rate-limit');
    const applied: AppliedAction = await target.apply(waf, T);
    expect(await flagValue(t, 'waf-rate-limit:search-per-ip')).toBe(100);
    expect(applied.targetRef).toBe(`flags#${t}/waf-rate-limit:search-per-ip`);
    // What acted is said: a flag for the service to read, not a WAF rule.
    expect(applied.actedVia).toEqual({
      control: 'flag',
      fallbackFor: 'waf-rate-limit',
      description:
        'flag written for the service to read (waf-rate-limit is not configured: no waf-rate-limit control was ' +
        'changed)',
    });
    await target.rollback(applied, T + 1);
    expect(await flagValue(t, 'waf-rate-limit:search-per-ip')).toBeUndefined();
  });

  it(
    "a platform-scoped step is written under the platform key flags#*, where every tenant's readers see it, and " +
      'rolled back there',
    async () => {
      const t = tenant();
      const other = tenant();
      const flag = `origin.failover.${t}`;
      const failover: PlannedAction = {
        ...act(t, `ep-${t}/failover`, 'read-only', flag),
        step: { ...act(t, `ep-${t}/failover`, 'read-only', flag).step, scope: 'platform', level: 'hard' },
      };
      const applied = await flags.apply(failover, T);
      expect(applied.targetRef).toBe(`flags#*/${flag}`);
      expect(applied.actedVia).toEqual({ control: 'flag', description: 'flag written for the service to read' });
      expect(await flagValue('*', flag)).toBe('read-only');
      expect(await item(t, flag)).toBeUndefined();
      // Another tenant's services (and the platform's) see it.
      expect((await readTenantFlags(standIns.dynamo, table, other)).get(flag)?.value).toBe('read-only');
      await flags.rollback(applied, T + 1);
      expect(await flagValue('*', flag)).toBeUndefined();
    },
  );

  it('the fallback for an unconfigured platform control writes flags#* too', async () => {
    const t = tenant();
    const rule = `challenge-${t}`;
    const base = act(t, `ep-${t}/challenge`, 300, rule);
    const challenge: PlannedAction = {
      ...base,
      step: { ...base.step, target: 'waf-rate-limit', scope: 'platform', level: 'hard' },
    };
    const target = createActionTargets(
      { unconfiguredTargets: 'flag-table' },
      { dynamo: standIns.dynamo, tableName: table },
    ).targetFor('waf-rate-limit');
    const applied = await target.apply(challenge, T);
    expect(applied.targetRef).toBe(`flags#*/waf-rate-limit:${rule}`);
    expect(await flagValue(t, `waf-rate-limit:${rule}`)).toBeUndefined();
    await target.rollback(applied, T + 1);
    expect(await flagValue('*', `waf-rate-limit:${rule}`)).toBeUndefined();
  });
});

describe('AWS control layer stacks in the same table', () => {
  it(
    'usage-plan throttles applied concurrently by several ' + 'episodes are all recorded and unwind to the original',
    async () => {
      const apigw = new FakeApiGateway([
        { id: 'plan-acme', name: 'acme', throttle: { rateLimit: 100, burstLimit: 200 } },
      ]);
      const target = new UsagePlanTarget(
        apigw.client,
        { usagePlanIds: ['plan-acme'] },
        new DynamoDbSlotStore(standIns.dynamo, table),
      );
      const steps = [10, 20, 30, 40].map((rate, i) =>
        action({ target: 'usage-plan', flag: 'plan-acme', value: rate }, { rollbackKey: `ep${i}/throttle` }),
      );
      const applied = await Promise.all(steps.map((a, i) => target.apply(a, T + i)));

      const stored = (
        await doc.send(
          new GetCommand({ TableName: table, Key: { pk: 'ctl#usage-plan', sk: 'plan-acme' }, ConsistentRead: true }),
        )
      ).Item!;
      expect((stored.layers as unknown[]).length).toBe(4);
      expect(stored.pending).toBe(false);
      expect(stored.base).toEqual({ rateLimit: 100, burstLimit: 200 });
      expect(apigw.plans.get('plan-acme')!.throttle).toEqual(stored.value);
      expect(
        applied.filter((a) => JSON.stringify(a.previous) === JSON.stringify({ rateLimit: 100, burstLimit: 200 })),
      ).toHaveLength(1);

      // A retried apply is answered from the table: same result, no request that changes the plan.
      apigw.calls.length = 0;
      expect(await target.apply(steps[2]!, T + 99)).toEqual(applied[2]);
      expect(apigw.calls.map((c) => c.command)).toEqual(['GetUsagePlan']);

      await Promise.all(applied.map((a, i) => target.rollback(a, T + 1000 + i)));
      expect(apigw.plans.get('plan-acme')!.throttle).toEqual({ rateLimit: 100, burstLimit: 200 });
    },
  );
});
