/**
 * Every key of a component's configuration schema is also a flag: `gateway.mqttPort` →
 * `--gateway-mqtt-port`. One place adds the flags to a command and maps the parsed options back
 * onto schema keys for `loadConfig`.
 */
import { configLeaves } from '@pedepronto/common'
import type { TObject } from '@sinclair/typebox'
import { type Command, Option } from 'commander'

/** Commander's attribute name for a long flag (`--kafka-topic-prefix` → `kafkaTopicPrefix`). */
function attributeOf(flag: string): string {
  return flag
    .slice(2)
    .split('-')
    .map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('')
}

export function addSchemaFlags(cmd: Command, schema: TObject): Command {
  for (const leaf of configLeaves(schema)) {
    cmd.addOption(new Option(`${leaf.flag} <value>`, `${leaf.description} (env ${leaf.env})`))
  }
  return cmd
}

/** The flags the user gave, keyed by schema key, ready for `loadConfig(…, { flags })`. */
export function schemaFlags(options: Record<string, unknown>, schema: TObject): Record<string, unknown> {
  const flags: Record<string, unknown> = {}
  for (const leaf of configLeaves(schema)) {
    const value = options[attributeOf(leaf.flag)]
    if (value !== undefined) flags[leaf.key] = value
  }
  return flags
}
