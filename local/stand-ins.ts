import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite') as (opts: object) => Server;
const dynalite = require('dynalite') as (opts: object) => Server;
const S3rver = require('s3rver') as new (opts: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };

export const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The embedded AWS stand-ins and real SDK clients pointed at them. */
export interface StandIns {
  readonly kinesisEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly s3Endpoint: string;
  readonly kinesis: KinesisClient;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  close(): Promise<void>;
}

export async function startStandIns(): Promise<StandIns> {
  const kServer = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  const dServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const listen = (s: Server) =>
    new Promise<string>((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
    );
  // s3rver keeps objects as files: a throwaway directory per run.
  const s3Dir = mkdtempSync(join(tmpdir(), 'anomaly-guard-s3-'));
  const s3Server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir });
  const [kinesisEndpoint, dynamoEndpoint, s3Address] = await Promise.all([
    listen(kServer),
    listen(dServer),
    s3Server.run(),
  ]);
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const kinesis = localKinesisClient(kinesisEndpoint);
  const dynamo = localDynamoClient(dynamoEndpoint);
  const s3 = localS3Client(s3Endpoint);
  return {
    kinesisEndpoint,
    dynamoEndpoint,
    s3Endpoint,
    kinesis,
    dynamo,
    s3,
    async close() {
      kinesis.destroy();
      dynamo.destroy();
      s3.destroy();
      await Promise.all([
        ...[kServer, dServer].map((s) => new Promise<void>((r) => s.close(() => r()))),
        s3Server.close(),
      ]);
      rmSync(s3Dir, { recursive: true, force: true });
    },
  };
}

/** The SDK's Kinesis client defaults to HTTP/2, which the stand-in does not speak. */
export function localKinesisClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
}

/** s3rver serves path-style URLs only and accepts its own fixed key pair. */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestHandler: new NodeHttpHandler(),
  });
}

// A synthesized template's properties are whatever CloudFormation takes: probed field by field, not typed.
// biome-ignore lint/suspicious/noExplicitAny: untyped CloudFormation JSON
type CfnResource = { Type: string; Properties?: Record<string, any> };
export type CfnTemplate = { Resources: Record<string, CfnResource>; Outputs?: Record<string, unknown> };

export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

export function onlyResource(template: CfnTemplate, type: string): [string, CfnResource] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1)
    throw new Error(`expected exactly one ${type} in the synthesized template, found ${found.length}`);
  return found[0]!;
}

/** On-demand streams have no shard count in the template; locally they start with this many. */
const ON_DEMAND_LOCAL_SHARDS = 2;

/** Create the stream the template declares, under `name`, and wait until it is ACTIVE. */
export async function createStreamFromTemplate(
  kinesis: KinesisClient,
  template: CfnTemplate,
  name: string,
  shardOverride?: number,
): Promise<number> {
  const [, stream] = onlyResource(template, 'AWS::Kinesis::Stream');
  const onDemand = stream.Properties?.StreamModeDetails?.StreamMode === 'ON_DEMAND';
  const shards = shardOverride ?? (onDemand ? ON_DEMAND_LOCAL_SHARDS : Number(stream.Properties?.ShardCount ?? 1));
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let i = 0; i < 200; i++) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return shards;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`local stream ${name} did not become ACTIVE`);
}

/** Create every DynamoDB table of the template with its key schema and indexes, named `${prefix}${logicalId}`. */
export async function createTablesFromTemplate(
  dynamo: DynamoDBClient,
  template: CfnTemplate,
  prefix: string,
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const [logicalId, table] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
    const p = table.Properties ?? {};
    const name = `${prefix}${logicalId}`;
    const input: CreateTableCommandInput = {
      TableName: name,
      KeySchema: p.KeySchema,
      AttributeDefinitions: p.AttributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
    };
    if (p.GlobalSecondaryIndexes)
      // biome-ignore lint/suspicious/noExplicitAny: untyped CloudFormation JSON
      input.GlobalSecondaryIndexes = p.GlobalSecondaryIndexes.map((g: any) => ({
        IndexName: g.IndexName,
        KeySchema: g.KeySchema,
        Projection: g.Projection,
      }));
    await dynamo.send(new CreateTableCommand(input));
    for (let i = 0; ; i++) {
      const d = await dynamo.send(new DescribeTableCommand({ TableName: name }));
      if (d.Table?.TableStatus === 'ACTIVE') break;
      if (i > 200) throw new Error(`local table ${name} did not become ACTIVE`);
      await new Promise((r) => setTimeout(r, 10));
    }
    names.set(logicalId, name);
  }
  return names;
}

/** Create every S3 bucket of the template, named `${prefix}${logicalId}` in lowercase. */
export async function createBucketsFromTemplate(
  s3: S3Client,
  template: CfnTemplate,
  prefix: string,
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const [logicalId] of resourcesOfType(template, 'AWS::S3::Bucket')) {
    const name = `${prefix}${logicalId}`.toLowerCase().slice(0, 63);
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    names.set(logicalId, name);
  }
  return names;
}
