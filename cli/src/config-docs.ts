/**
 * The README's configuration tables, generated from the component schemas (STYLE.md, convention 5).
 * `node scripts/config-docs.mjs` rewrites them; cli/test/readme.test.ts fails when they drift.
 */

import { SinkConfigSchema } from '@pedepronto/cloud-sink'
import { configTable } from '@pedepronto/common'
import { SimConfigSchema } from '@pedepronto/device-sim'
import { ProcessorConfigSchema } from '@pedepronto/edge-processor'
import { GatewayConfigSchema } from '@pedepronto/gateway'
import { ServicesConfigSchema } from '@pedepronto/infra'
import type { TObject } from '@sinclair/typebox'

export const COMPONENT_SCHEMAS: readonly { command: string; schema: TObject }[] = [
  { command: 'services', schema: ServicesConfigSchema },
  { command: 'sim', schema: SimConfigSchema },
  { command: 'gateway', schema: GatewayConfigSchema },
  { command: 'process', schema: ProcessorConfigSchema },
  { command: 'sink', schema: SinkConfigSchema },
]

export const CONFIG_BEGIN = '<!-- config:tables -->'
export const CONFIG_END = '<!-- /config:tables -->'

export function renderConfigDocs(): string {
  return COMPONENT_SCHEMAS.map(
    ({ command, schema }) => `### \`pedepronto ${command}\`\n\n${configTable(schema)}\n`,
  ).join('\n')
}

/** The README with its configuration block replaced by the generated one. */
export function withConfigDocs(readme: string): string {
  const start = readme.indexOf(CONFIG_BEGIN)
  const end = readme.indexOf(CONFIG_END)
  if (start < 0 || end < start) throw new Error(`README has no ${CONFIG_BEGIN} … ${CONFIG_END} block`)
  return `${readme.slice(0, start + CONFIG_BEGIN.length)}\n\n${renderConfigDocs()}\n${readme.slice(end)}`
}
