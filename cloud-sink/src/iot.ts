/**
 * AWS IoT: provisioning (things per device, a thing group and a "restaurant thing" per restaurant,
 * one certificate per device thing, a policy scoped with thing-name policy variables, a topic rule
 * for alerts) and the sink's live push (latest KPIs to the restaurant thing's shadow, alerts to IoT
 * topics). Provisioning is idempotent: a second run finds and reuses everything, never creating a
 * second certificate for a thing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  AddThingToThingGroupCommand,
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  CreateTopicRuleCommand,
  DescribeCertificateCommand,
  DescribeEndpointCommand,
  DescribeThingCommand,
  DescribeThingGroupCommand,
  GetPolicyCommand,
  GetTopicRuleCommand,
  IoTClient,
  ListThingPrincipalsCommand,
  ReplaceTopicRuleCommand,
  type TopicRulePayload,
} from '@aws-sdk/client-iot'
import {
  GetThingShadowCommand,
  IoTDataPlaneClient,
  PublishCommand,
  UpdateThingShadowCommand,
} from '@aws-sdk/client-iot-data-plane'
import { ID_REGEX } from '@pedepronto/contracts'
import { SinkError } from './errors.js'
import type { Row } from './tables.js'

export const DEVICE_POLICY_NAME = 'pedepronto-device'
export const ALERTS_RULE_NAME = 'pedepronto_alerts'
export const ALERTS_TOPIC_PREFIX = 'pedepronto/alerts'
export const OPS_ALERTS_TOPIC = 'pedepronto/ops/alerts'

export function restaurantThingName(restaurantId: string): string {
  return `restaurant-${restaurantId}`
}

export function restaurantGroupName(restaurantId: string): string {
  return `restaurant-${restaurantId}`
}

export function alertTopic(restaurantId: string): string {
  return `${ALERTS_TOPIC_PREFIX}/${restaurantId}`
}

/**
 * Devices may connect only as their own thing, publish events and receive commands only under their
 * own device id (the MQTT topic scheme of contracts/src/mqtt), and touch only their own shadow.
 */
export function devicePolicyDocument(): string {
  // An AWS IoT policy variable, substituted by IoT at authorization time, not a JS template.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: literal IoT policy variable
  const thing = '${iot:Connection.Thing.ThingName}'
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Connect', Resource: `arn:aws:iot:*:*:client/${thing}` },
      { Effect: 'Allow', Action: 'iot:Publish', Resource: `arn:aws:iot:*:*:topic/pp/v1/*/${thing}/evt/*` },
      {
        Effect: 'Allow',
        Action: 'iot:Subscribe',
        Resource: `arn:aws:iot:*:*:topicfilter/pp/v1/*/${thing}/cmd/*`,
      },
      { Effect: 'Allow', Action: 'iot:Receive', Resource: `arn:aws:iot:*:*:topic/pp/v1/*/${thing}/cmd/*` },
      {
        Effect: 'Allow',
        Action: ['iot:GetThingShadow', 'iot:UpdateThingShadow'],
        Resource: `arn:aws:iot:*:*:thing/${thing}`,
      },
    ],
  })
}

export interface Inventory {
  restaurants: { id: string; devices: string[] }[]
}

/** `--restaurants r1,r2 --devices 3` (devices per restaurant) or `--devices kiosk-1@r1,pager-1@r2`. */
export function inventoryFromFlags(restaurants: string[], devices: string): Inventory {
  const byRestaurant = new Map<string, string[]>(restaurants.map((r) => [r, []]))
  if (/^\d+$/.test(devices.trim())) {
    const n = Number(devices)
    for (const [r, list] of byRestaurant)
      for (let i = 1; i <= n; i++) list.push(`${r}-dev-${String(i).padStart(2, '0')}`)
  } else {
    for (const spec of devices
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      const [device, restaurant] = spec.split('@')
      if (!device || !restaurant) {
        throw new SinkError(
          'SINK_INVENTORY_INVALID',
          `--devices entry ${JSON.stringify(spec)} is not DEVICE@RESTAURANT`,
          {
            hint: 'use a count per restaurant (--devices 3) or a list like kiosk-1@r1,pager-1@r1',
          },
        )
      }
      const list = byRestaurant.get(restaurant) ?? []
      list.push(device)
      byRestaurant.set(restaurant, list)
    }
  }
  return validateInventory({ restaurants: [...byRestaurant].map(([id, list]) => ({ id, devices: list })) })
}

export function validateInventory(value: unknown): Inventory {
  const problems: string[] = []
  const inv = value as Inventory
  if (!inv || !Array.isArray(inv.restaurants))
    problems.push('expected {"restaurants": [{"id", "devices": [...]}]}')
  else {
    for (const r of inv.restaurants) {
      if (typeof r?.id !== 'string' || !ID_REGEX.test(r.id))
        problems.push(`restaurant id ${JSON.stringify(r?.id)}`)
      if (!Array.isArray(r?.devices)) problems.push(`devices of ${r?.id} must be a list`)
      else
        for (const d of r.devices)
          if (typeof d !== 'string' || !ID_REGEX.test(d)) problems.push(`device id ${JSON.stringify(d)}`)
    }
  }
  if (problems.length > 0) {
    throw new SinkError('SINK_INVENTORY_INVALID', `invalid inventory: ${problems.join('; ')}`, {
      hint: 'ids are lowercase [a-z0-9][a-z0-9_-]{0,63}',
    })
  }
  return inv
}

export function readInventory(path: string): Inventory {
  try {
    return validateInventory(JSON.parse(readFileSync(path, 'utf8')))
  } catch (error) {
    if (error instanceof SinkError) throw error
    throw new SinkError(
      'SINK_INVENTORY_INVALID',
      `cannot read inventory ${path}: ${(error as Error).message}`,
    )
  }
}

export interface AwsClientOptions {
  region: string
  endpoint?: string
  credentials?: { accessKeyId: string; secretAccessKey: string }
}

function clientConfig(o: AwsClientOptions) {
  const endpoint = o.endpoint === '' ? undefined : o.endpoint
  return {
    region: o.region,
    ...(endpoint ? { endpoint } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
  }
}

const notFound = (error: unknown) => (error as { name?: string }).name === 'ResourceNotFoundException'
const exists = (error: unknown) => (error as { name?: string }).name === 'ResourceAlreadyExistsException'

export interface ProvisionOptions extends AwsClientOptions {
  inventory: Inventory
  /** Folder for keys and certificates (git-ignored: certs/out/aws). */
  outDir: string
  /** Role the topic rule's republish action assumes. */
  ruleRoleArn: string
}

export interface ThingResult {
  thing: string
  restaurant: string
  certificateId: string
  certificateReused: boolean
  created: boolean
}

export interface ProvisionResult {
  things: ThingResult[]
  groups: string[]
  restaurantThings: string[]
  policy: { name: string; action: 'created' | 'unchanged' | 'updated' }
  rule: { name: string; action: 'created' | 'replaced' }
}

export async function provisionIot(o: ProvisionOptions): Promise<ProvisionResult> {
  const iot = new IoTClient(clientConfig(o))
  try {
    const policy = await ensurePolicy(iot)
    const things: ThingResult[] = []
    const groups: string[] = []
    const restaurantThings: string[] = []
    for (const r of o.inventory.restaurants) {
      const group = restaurantGroupName(r.id)
      await iot
        .send(new DescribeThingGroupCommand({ thingGroupName: group }))
        .catch(async (error: unknown) => {
          if (!notFound(error)) throw error
          await iot.send(
            new CreateThingGroupCommand({
              thingGroupName: group,
              thingGroupProperties: { thingGroupDescription: `Pede Pronto restaurant ${r.id}` },
            }),
          )
        })
      groups.push(group)
      const rThing = restaurantThingName(r.id)
      await ensureThing(iot, rThing, { restaurant_id: r.id, role: 'restaurant' })
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: group, thingName: rThing }))
      restaurantThings.push(rThing)
      for (const device of r.devices) {
        const created = await ensureThing(iot, device, { restaurant_id: r.id, role: 'device' })
        await iot.send(new AddThingToThingGroupCommand({ thingGroupName: group, thingName: device }))
        const cert = await ensureCertificate(iot, device, o.outDir)
        await iot.send(new AttachPolicyCommand({ policyName: DEVICE_POLICY_NAME, target: cert.arn }))
        await iot.send(new AttachThingPrincipalCommand({ thingName: device, principal: cert.arn }))
        things.push({
          thing: device,
          restaurant: r.id,
          certificateId: cert.id,
          certificateReused: cert.reused,
          created,
        })
      }
    }
    const rule = await ensureAlertsRule(iot, o.ruleRoleArn)
    return { things, groups, restaurantThings, policy, rule }
  } catch (error) {
    if (error instanceof SinkError) throw error
    throw new SinkError('SINK_IOT_FAILED', `AWS IoT provisioning failed: ${(error as Error).message}`, {
      cause: error,
      canRetry: true,
      hint: 'provisioning is idempotent: fix the cause and run it again',
    })
  } finally {
    iot.destroy()
  }
}

async function ensureThing(
  iot: IoTClient,
  thingName: string,
  attributes: Record<string, string>,
): Promise<boolean> {
  try {
    await iot.send(new DescribeThingCommand({ thingName }))
    return false
  } catch (error) {
    if (!notFound(error)) throw error
  }
  await iot.send(new CreateThingCommand({ thingName, attributePayload: { attributes } }))
  return true
}

async function ensurePolicy(iot: IoTClient): Promise<ProvisionResult['policy']> {
  const document = devicePolicyDocument()
  try {
    const existing = await iot.send(new GetPolicyCommand({ policyName: DEVICE_POLICY_NAME }))
    if (existing.policyDocument && JSON.stringify(JSON.parse(existing.policyDocument)) === document) {
      return { name: DEVICE_POLICY_NAME, action: 'unchanged' }
    }
    await iot.send(
      new CreatePolicyVersionCommand({
        policyName: DEVICE_POLICY_NAME,
        policyDocument: document,
        setAsDefault: true,
      }),
    )
    return { name: DEVICE_POLICY_NAME, action: 'updated' }
  } catch (error) {
    if (!notFound(error)) throw error
  }
  await iot.send(new CreatePolicyCommand({ policyName: DEVICE_POLICY_NAME, policyDocument: document }))
  return { name: DEVICE_POLICY_NAME, action: 'created' }
}

interface CertRecord {
  id: string
  arn: string
}

/**
 * One certificate per thing: reuse the one attached to the thing (its key is in outDir from the
 * first run); create keys and a certificate only for a thing with no principal.
 */
async function ensureCertificate(
  iot: IoTClient,
  thing: string,
  outDir: string,
): Promise<CertRecord & { reused: boolean }> {
  const dir = join(outDir, thing)
  const principals = await iot.send(new ListThingPrincipalsCommand({ thingName: thing }))
  const attached = (principals.principals ?? []).find((p) => p.includes(':cert/'))
  if (attached) {
    const id = attached.slice(attached.lastIndexOf('/') + 1)
    if (!existsSync(join(dir, 'certificate.pem.crt'))) {
      const d = await iot.send(new DescribeCertificateCommand({ certificateId: id }))
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, 'certificate.pem.crt'), d.certificateDescription?.certificatePem ?? '')
    }
    return { id, arn: attached, reused: true }
  }
  const created = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }))
  if (!created.certificateArn || !created.certificateId || !created.keyPair?.PrivateKey) {
    throw new SinkError('SINK_IOT_FAILED', `CreateKeysAndCertificate for ${thing} returned no certificate`)
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, 'certificate.pem.crt'), created.certificatePem ?? '')
  writeFileSync(join(dir, 'private.pem.key'), created.keyPair.PrivateKey, { mode: 0o600 })
  writeFileSync(join(dir, 'public.pem.key'), created.keyPair.PublicKey ?? '')
  writeFileSync(
    join(dir, 'certificate.json'),
    `${JSON.stringify({ id: created.certificateId, arn: created.certificateArn }, null, 2)}\n`,
  )
  return { id: created.certificateId, arn: created.certificateArn, reused: false }
}

export function alertsRulePayload(roleArn: string): TopicRulePayload {
  return {
    sql: `SELECT * FROM '${ALERTS_TOPIC_PREFIX}/+'`,
    description: 'Pede Pronto alerts from the cloud sink, republished to the operations topic',
    ruleDisabled: false,
    awsIotSqlVersion: '2016-03-23',
    actions: [{ republish: { topic: OPS_ALERTS_TOPIC, roleArn, qos: 1 } }],
  }
}

async function ensureAlertsRule(iot: IoTClient, roleArn: string): Promise<ProvisionResult['rule']> {
  const payload = alertsRulePayload(roleArn)
  try {
    await iot.send(new GetTopicRuleCommand({ ruleName: ALERTS_RULE_NAME }))
    await iot.send(new ReplaceTopicRuleCommand({ ruleName: ALERTS_RULE_NAME, topicRulePayload: payload }))
    return { name: ALERTS_RULE_NAME, action: 'replaced' }
  } catch (error) {
    if (!notFound(error) && (error as { name?: string }).name !== 'UnauthorizedException') throw error
  }
  try {
    await iot.send(new CreateTopicRuleCommand({ ruleName: ALERTS_RULE_NAME, topicRulePayload: payload }))
  } catch (error) {
    if (!exists(error)) throw error
  }
  return { name: ALERTS_RULE_NAME, action: 'created' }
}

/** The sink's push to AWS IoT: best effort, counted, never blocking the lake. */
export class IotLivePush {
  readonly #options: AwsClientOptions
  #data: IoTDataPlaneClient | undefined

  constructor(options: AwsClientOptions) {
    this.#options = options
  }

  async #client(): Promise<IoTDataPlaneClient> {
    if (this.#data) return this.#data
    let endpoint = this.#options.endpoint
    if (!endpoint) {
      // Real AWS: the data plane has an account-specific endpoint (DescribeEndpoint iot:Data-ATS).
      const iot = new IoTClient(clientConfig(this.#options))
      const r = await iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }))
      iot.destroy()
      endpoint = `https://${r.endpointAddress}`
    }
    this.#data = new IoTDataPlaneClient({ ...clientConfig(this.#options), endpoint })
    return this.#data
  }

  /** Reported state of `restaurant-<id>`: the KPI row of its latest window. */
  async pushKpis(row: Row): Promise<void> {
    const client = await this.#client()
    const restaurant = String(row.restaurant_id)
    const reported: Record<string, unknown> = { ...row }
    for (const k of ['window_start', 'window_end'])
      if (typeof row[k] === 'number') reported[`${k}_iso`] = new Date(row[k] as number).toISOString()
    await client.send(
      new UpdateThingShadowCommand({
        thingName: restaurantThingName(restaurant),
        payload: new TextEncoder().encode(JSON.stringify({ state: { reported } })),
      }),
    )
  }

  async publishAlert(row: Row): Promise<void> {
    const client = await this.#client()
    await client.send(
      new PublishCommand({
        topic: alertTopic(String(row.restaurant_id)),
        qos: 1,
        payload: new TextEncoder().encode(JSON.stringify(row)),
      }),
    )
  }

  /** The restaurant thing's reported state (its latest KPI window), or undefined before the first push. */
  async readKpis(restaurantId: string): Promise<Record<string, unknown> | undefined> {
    const client = await this.#client()
    try {
      const r = await client.send(new GetThingShadowCommand({ thingName: restaurantThingName(restaurantId) }))
      const doc = JSON.parse(new TextDecoder().decode(r.payload)) as {
        state?: { reported?: Record<string, unknown> }
      }
      return doc.state?.reported
    } catch (error) {
      if (notFound(error)) return undefined
      throw error
    }
  }

  close(): void {
    this.#data?.destroy()
  }
}
