/**
 * One configuration layer for every component (STYLE.md, convention 5): a TypeBox schema per
 * component is the single definition of keys, types, defaults and documentation. Values come from,
 * in rising precedence: schema defaults, a JSON config file, environment variables, command-line
 * flags. Everything is validated at start and *all* problems are reported at once, each with the
 * key, the bad value and the expected form — zigbee2mqtt's settings schema is the model.
 *
 * Key `kafka.brokers` ↔ env `PEDEPRONTO_KAFKA_BROKERS` ↔ flag `--kafka-brokers`.
 */
import { readFileSync } from 'node:fs'
import { Kind, type Static, type TObject, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ExitCode, PedeProntoError } from './errors.js'

export const ENV_PREFIX = 'PEDEPRONTO_'

export interface ConfigProblem {
  /** Dotted key, e.g. `kafka.brokers`. */
  key: string
  /** Where the bad value came from. */
  source: 'default' | 'file' | 'env' | 'flag' | 'unknown-env' | 'unknown-file-key'
  /** The offending value as given (stringified, secrets are the caller's concern). */
  value: string
  /** The expected form, in words. */
  expected: string
}

export class ConfigError extends PedeProntoError<'CONFIG_INVALID' | 'CONFIG_FILE'> {
  readonly problems: ConfigProblem[]
  constructor(problems: ConfigProblem[], component: string) {
    const lines = problems.map((p) => `  - ${p.key}${sourceLabel(p)}: got ${p.value}; expected ${p.expected}`)
    super(
      'CONFIG_INVALID',
      `invalid ${component} configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      {
        exitCode: ExitCode.CONFIG,
        hint: `fix the keys above; \`pedepronto ${component} --help\` lists every key with its default`,
      },
    )
    this.problems = problems
  }
}

function sourceLabel(p: ConfigProblem): string {
  switch (p.source) {
    case 'env':
      return ` (env ${envName(p.key)})`
    case 'unknown-env':
      return ' (unknown environment variable)'
    case 'flag':
      return ` (flag ${flagName(p.key)})`
    case 'file':
    case 'unknown-file-key':
      return ' (config file)'
    default:
      return ''
  }
}

export function envName(key: string): string {
  return ENV_PREFIX + key.split('.').map(toUpperSnake).join('_')
}

export function flagName(key: string): string {
  return `--${key.split('.').map(toKebab).join('-')}`
}

function toUpperSnake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

function toKebab(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()
}

export interface ConfigLeaf {
  key: string
  env: string
  flag: string
  schema: TSchema
  description: string
  default: unknown
  expected: string
}

/** Every leaf key of a schema, in declaration order — drives env mapping, --help and the README table. */
export function configLeaves(schema: TObject, prefix = ''): ConfigLeaf[] {
  const out: ConfigLeaf[] = []
  for (const [name, child] of Object.entries(schema.properties)) {
    const key = prefix ? `${prefix}.${name}` : name
    if (child[Kind] === 'Object') {
      out.push(...configLeaves(child as TObject, key))
    } else {
      out.push({
        key,
        env: envName(key),
        flag: flagName(key),
        schema: child,
        description: typeof child.description === 'string' ? child.description : '',
        default: child.default,
        expected: describeExpected(child),
      })
    }
  }
  return out
}

/** The expected form of a value, in words, from its schema. */
export function describeExpected(schema: TSchema): string {
  const kind = schema[Kind]
  if (kind === 'Union') {
    const parts = (schema.anyOf as TSchema[]).map((s) =>
      s.const !== undefined ? String(s.const) : describeExpected(s),
    )
    return `one of: ${parts.join(' | ')}`
  }
  if (kind === 'Literal') return String(schema.const)
  if (kind === 'Integer' || kind === 'Number') {
    const noun = kind === 'Integer' ? 'an integer' : 'a number'
    const min = schema.minimum as number | undefined
    const max = schema.maximum as number | undefined
    if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`
    if (min !== undefined) return `${noun} ≥ ${min}`
    if (max !== undefined) return `${noun} ≤ ${max}`
    return noun
  }
  if (kind === 'Boolean') return 'true or false'
  if (kind === 'Array') {
    const item = describeExpected(schema.items as TSchema)
    return `a comma-separated list of ${item}`
  }
  if (kind === 'String') {
    if (typeof schema.examples === 'object' && Array.isArray(schema.examples) && schema.examples.length > 0) {
      return `a string like ${JSON.stringify(schema.examples[0])}`
    }
    if (schema.pattern) return `a string matching ${schema.pattern}`
    if (schema.minLength) return 'a non-empty string'
    return 'a string'
  }
  return kind ?? 'a value'
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

/** Converts a text value (env or flag) to the leaf's type; `undefined` means "cannot". */
function convertText(schema: TSchema, text: string): { ok: true; value: unknown } | { ok: false } {
  const kind = schema[Kind]
  if (kind === 'Integer' || kind === 'Number') {
    if (text.trim() === '') return { ok: false }
    const n = Number(text)
    if (!Number.isFinite(n)) return { ok: false }
    return { ok: true, value: n }
  }
  if (kind === 'Boolean') {
    const t = text.trim().toLowerCase()
    if (TRUE.has(t)) return { ok: true, value: true }
    if (FALSE.has(t)) return { ok: true, value: false }
    return { ok: false }
  }
  if (kind === 'Array') {
    const items = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
    const itemSchema = schema.items as TSchema
    const values: unknown[] = []
    for (const item of items) {
      const c = convertText(itemSchema, item)
      if (!c.ok) return { ok: false }
      values.push(c.value)
    }
    return { ok: true, value: values }
  }
  return { ok: true, value: text }
}

export interface ConfigSources {
  /** Environment (defaults to `process.env`). */
  env?: Record<string, string | undefined>
  /** Flags keyed by dotted key (`kafka.brokers`) or by camelCase path (`kafkaBrokers`). */
  flags?: Record<string, unknown>
  /** Path of a JSON config file. */
  file?: string
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    const next = node[part]
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  node[parts[parts.length - 1] as string] = value
}

function getPath(target: unknown, key: string): unknown {
  let node: unknown = target
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return JSON.stringify(value)
  return JSON.stringify(value) ?? String(value)
}

function camelOf(key: string): string {
  return key
    .split('.')
    .map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1)))
    .join('')
}

/**
 * Loads and validates a component's configuration. Throws one {@link ConfigError} listing every
 * problem (unknown keys, wrong types, out-of-range values) — never a stack trace for bad input.
 */
export function loadConfig<T extends TObject>(
  component: string,
  schema: T,
  sources: ConfigSources = {},
): Static<T> {
  const env = sources.env ?? process.env
  const leaves = configLeaves(schema)
  const problems: ConfigProblem[] = []
  const raw: Record<string, unknown> = {}
  const origin = new Map<string, ConfigProblem['source']>()

  if (sources.file) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(sources.file, 'utf8'))
    } catch (error) {
      throw new PedeProntoError(
        'CONFIG_FILE',
        `cannot read config file ${sources.file}: ${(error as Error).message}`,
        {
          exitCode: ExitCode.CONFIG,
          hint: 'pass a readable JSON file to --config, or leave it out',
          cause: error,
        },
      )
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push({ key: '(file)', source: 'file', value: show(parsed), expected: 'a JSON object' })
    } else {
      const known = new Set(leaves.map((l) => l.key))
      for (const key of flattenKeys(parsed as Record<string, unknown>)) {
        if (!known.has(key)) {
          problems.push({
            key,
            source: 'unknown-file-key',
            value: show(getPath(parsed, key)),
            expected: 'no such key',
          })
        } else {
          setPath(raw, key, getPath(parsed, key))
          origin.set(key, 'file')
        }
      }
    }
  }

  const sections = new Set(Object.keys(schema.properties).map((k) => envName(k)))
  const knownEnv = new Set(leaves.map((l) => l.env))
  for (const name of Object.keys(env)) {
    if (!name.startsWith(ENV_PREFIX) || knownEnv.has(name)) continue
    // Only flag names inside one of this component's sections: other components' keys are theirs.
    const inSection = [...sections].some((s) => name.startsWith(`${s}_`) || name === s)
    if (inSection) {
      problems.push({
        key: name,
        source: 'unknown-env',
        value: show(env[name]),
        expected: `a known key (${nearest(name, [...knownEnv]) ?? 'see --help'})`,
      })
    }
  }

  for (const leaf of leaves) {
    const text = env[leaf.env]
    if (text !== undefined) {
      const c = convertText(leaf.schema, text)
      if (c.ok) {
        setPath(raw, leaf.key, c.value)
        origin.set(leaf.key, 'env')
      } else {
        problems.push({ key: leaf.key, source: 'env', value: show(text), expected: leaf.expected })
      }
    }
    const flag = sources.flags?.[leaf.key] ?? sources.flags?.[camelOf(leaf.key)]
    if (flag !== undefined) {
      const c = typeof flag === 'string' ? convertText(leaf.schema, flag) : { ok: true as const, value: flag }
      if (c.ok) {
        setPath(raw, leaf.key, c.value)
        origin.set(leaf.key, 'flag')
      } else {
        problems.push({ key: leaf.key, source: 'flag', value: show(flag), expected: leaf.expected })
      }
    }
  }

  ensureSections(schema, raw)
  const withDefaults = Value.Default(schema, raw) as Record<string, unknown>
  const leafByPath = new Map(leaves.map((l) => [l.key, l]))
  const reported = new Set(problems.map((p) => p.key))
  for (const error of Value.Errors(schema, withDefaults)) {
    const key = error.path.replace(/^\//, '').split('/').join('.')
    // Map an array item's error onto its leaf key.
    const leafKey = [...leafByPath.keys()].find((k) => key === k || key.startsWith(`${k}.`)) ?? key
    if (reported.has(leafKey)) continue
    reported.add(leafKey)
    const leaf = leafByPath.get(leafKey)
    problems.push({
      key: leafKey,
      source: origin.get(leafKey) ?? 'default',
      value: show(getPath(withDefaults, leafKey)),
      expected: leaf?.expected ?? error.message,
    })
  }

  if (problems.length > 0) throw new ConfigError(problems, component)
  return withDefaults as Static<T>
}

/** TypeBox fills defaults only inside objects that exist, so every nested section is created first. */
function ensureSections(schema: TObject, target: Record<string, unknown>): void {
  for (const [name, child] of Object.entries(schema.properties)) {
    if (child[Kind] !== 'Object') continue
    const existing = target[name]
    if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) {
      if (existing !== undefined) continue // a wrong type is reported by validation
      target[name] = {}
    }
    ensureSections(child as TObject, target[name] as Record<string, unknown>)
  }
}

function flattenKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  const keys: string[] = []
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      keys.push(...flattenKeys(v as Record<string, unknown>, key))
    else keys.push(key)
  }
  return keys
}

/** The closest known name by edit distance, to suggest a fix for a typo. */
function nearest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const d = editDistance(name, c)
    if (d < bestDistance) {
      bestDistance = d
      best = c
    }
  }
  return bestDistance <= 4 ? best : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
      prev = tmp
    }
  }
  return row[b.length] as number
}

/** A markdown table of a schema's keys: the README's configuration tables are checked against it. */
export function configTable(schema: TObject): string {
  const rows = configLeaves(schema).map((l) => {
    const def = l.default === undefined ? '—' : `\`${JSON.stringify(l.default)}\``
    return `| \`${l.key}\` | \`${l.env}\` | ${l.expected} | ${def} | ${l.description} |`
  })
  return ['| key | environment | expected | default | description |', '|---|---|---|---|---|', ...rows].join(
    '\n',
  )
}
