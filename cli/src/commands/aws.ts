/**
 * `pedepronto aws sql [--out DIR]` prints or writes the Athena/Redshift SQL (and writes the COPY
 * manifest into the lake); `pedepronto aws provision` creates the AWS IoT things, groups,
 * certificates, policy and topic rule, idempotently; `pedepronto aws glue` creates the catalog.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CloudSink,
  emulatorCredentials,
  GlueCatalog,
  type Inventory,
  inventoryFromFlags,
  provisionIot,
  readInventory,
  sqlBundle,
  TABLES,
} from '@pedepronto/cloud-sink'
import { createRegistry, ExitCode, PedeProntoError } from '@pedepronto/common'
import type { Command } from 'commander'
import type { CommandContext } from '../context.js'
import { addSinkConfigFlags, loadSinkConfig } from './sink.js'

const DEFAULT_ROLE = 'arn:aws:iam::123456789012:role/pedepronto-lake'

export function addAwsCommand(program: Command, ctx: CommandContext): void {
  const aws = program
    .command('aws')
    .description('AWS side: Athena/Redshift SQL, Glue catalog, AWS IoT provisioning')

  const sql = aws
    .command('sql')
    .description(
      'print (or write to --out) Athena DDL, the Redshift Spectrum schema and the Redshift COPY with its manifest',
    )
    .option('--out <dir>', 'write athena.sql, redshift-spectrum.sql, redshift-copy.sql into this folder')
    .option('--iam-role <arn>', 'IAM role for Redshift Spectrum and COPY', DEFAULT_ROLE)
    .option('--no-manifest', 'do not write the COPY manifest into the lake')
  addSinkConfigFlags(sql).action(
    async (options: { out?: string; iamRole: string; manifest: boolean; [k: string]: unknown }) => {
      const config = loadSinkConfig(options)
      const bundle = sqlBundle({
        database: config.sink.glueDatabase,
        bucket: config.sink.bucket,
        prefix: config.sink.prefix,
        iamRole: options.iamRole,
        region: config.aws.region,
      })
      if (options.manifest) {
        const sink = new CloudSink(config, { registry: createRegistry('aws-cli') })
        const key = await sink.writeManifest()
        await sink.target.close()
        ctx.err(`aws sql: manifest written to ${sink.target.location}/${key}\n`)
      }
      if (options.out) {
        mkdirSync(options.out, { recursive: true })
        for (const [name, text] of Object.entries(bundle)) writeFileSync(join(options.out, name), text)
        ctx.err(`aws sql: wrote ${Object.keys(bundle).join(', ')} to ${options.out}\n`)
      } else {
        for (const [name, text] of Object.entries(bundle)) ctx.out(`-- ===== ${name} =====\n${text}\n`)
      }
    },
  )

  const glue = aws.command('glue').description('create the Glue database and tables (idempotent)')
  addSinkConfigFlags(glue).action(async (options: Record<string, unknown>) => {
    const config = loadSinkConfig(options as { config?: string })
    const creds = emulatorCredentials(config.aws.endpoint)
    const catalog = new GlueCatalog({
      database: config.sink.glueDatabase,
      bucket: config.sink.bucket,
      prefix: config.sink.prefix,
      region: config.aws.region,
      endpoint: config.aws.endpoint,
      ...(creds ? { credentials: creds } : {}),
    })
    const r = await catalog.ensureTables(TABLES)
    catalog.close()
    ctx.out(
      `glue ${config.sink.glueDatabase}: created [${r.created.join(', ')}], updated [${r.updated.join(', ')}]\n`,
    )
  })

  const provision = aws
    .command('provision')
    .description(
      'AWS IoT: things per device, a thing group per restaurant, certificates (certs/out/aws), a scoped policy, the alerts topic rule',
    )
    .option('--restaurants <ids>', 'comma-separated restaurant ids')
    .option('--devices <spec>', 'devices per restaurant (a number) or DEVICE@RESTAURANT,…')
    .option('--inventory <file>', 'JSON {"restaurants": [{"id": "r1", "devices": ["kiosk-1"]}]}')
    .option('--out <dir>', 'where keys and certificates go (never committed)', 'certs/out/aws')
    .option(
      '--rule-role-arn <arn>',
      'role of the topic rule republish action',
      'arn:aws:iam::123456789012:role/pedepronto-iot-rules',
    )
    .option('--json', 'print the result as JSON')
  addSinkConfigFlags(provision).action(
    async (options: {
      restaurants?: string
      devices?: string
      inventory?: string
      out: string
      ruleRoleArn: string
      json?: boolean
      [k: string]: unknown
    }) => {
      const config = loadSinkConfig(options)
      let inventory: Inventory
      if (options.inventory) inventory = readInventory(options.inventory)
      else if (options.restaurants && options.devices)
        inventory = inventoryFromFlags(
          options.restaurants
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
          options.devices,
        )
      else {
        throw new PedeProntoError(
          'CLI_USAGE',
          'aws provision needs --inventory FILE, or --restaurants and --devices',
          {
            exitCode: ExitCode.USAGE,
            hint: 'e.g. pedepronto aws provision --restaurants r1,r2 --devices 3',
          },
        )
      }
      const creds = emulatorCredentials(config.aws.endpoint)
      const result = await provisionIot({
        inventory,
        outDir: options.out,
        ruleRoleArn: options.ruleRoleArn,
        region: config.aws.region,
        endpoint: config.aws.endpoint,
        ...(creds ? { credentials: creds } : {}),
      })
      if (options.json) ctx.out(`${JSON.stringify(result, null, 2)}\n`)
      else {
        const fresh = result.things.filter((t) => !t.certificateReused).length
        ctx.out(
          `aws provision: ${result.things.length} device things (${result.things.filter((t) => t.created).length} new), ` +
            `${result.groups.length} groups, ${fresh} new certificates (${result.things.length - fresh} reused), ` +
            `policy ${result.policy.name} ${result.policy.action}, rule ${result.rule.name} ${result.rule.action}; keys in ${options.out}\n`,
        )
      }
    },
  )
}
