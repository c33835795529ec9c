/**
 * SQL for the engines that read the lake, generated from the same column lists as the files:
 * Athena `CREATE EXTERNAL TABLE` with partition projection, a Redshift Spectrum external schema over
 * the Glue database, and a Redshift `COPY … FORMAT AS PARQUET MANIFEST` of order_facts with the
 * manifest (entries with `meta.content_length`, required for Parquet manifests).
 */
import { projectionProperties, tableLocation } from './glue.js'
import { parseFileKey, tablePrefix } from './layout.js'
import { type ColumnType, ORDER_FACTS, TABLES, type TableDef } from './tables.js'
import type { LakeObject } from './targets.js'

export interface SqlOptions {
  database: string
  bucket: string
  prefix: string
  /** IAM role Redshift assumes for Spectrum and COPY. */
  iamRole: string
  region: string
}

function athenaType(type: ColumnType): string {
  return type === 'string'
    ? 'string'
    : type === 'int64'
      ? 'bigint'
      : type === 'double'
        ? 'double'
        : 'timestamp'
}

function redshiftType(type: ColumnType): string {
  switch (type) {
    case 'string':
      return 'VARCHAR(65535)'
    case 'int64':
      return 'BIGINT'
    case 'double':
      return 'DOUBLE PRECISION'
    case 'timestamp_ms':
      return 'TIMESTAMP'
  }
}

const q = (s: string) => s.replace(/'/g, "''")

export function athenaCreateTable(table: TableDef, o: SqlOptions): string {
  const location = tableLocation(o.bucket, o.prefix, table.name)
  const cols = table.columns.map((c) => `  \`${c.name}\` ${athenaType(c.type)} COMMENT '${q(c.description)}'`)
  const props = Object.entries({ 'parquet.compression': 'ZSTD', ...projectionProperties(location) }).map(
    ([k, v]) => `  '${k}' = '${q(v)}'`,
  )
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS \`${o.database}\`.\`${table.name}\` (`,
    cols.join(',\n'),
    ')',
    `COMMENT '${q(table.description)}'`,
    'PARTITIONED BY (`dt` string, `hr` string)',
    'STORED AS PARQUET',
    `LOCATION '${location}'`,
    'TBLPROPERTIES (',
    props.join(',\n'),
    ');',
  ].join('\n')
}

export function athenaDdl(o: SqlOptions): string {
  return [
    '-- Athena: database and tables over the Parquet lake (partition projection: no MSCK REPAIR needed).',
    `CREATE DATABASE IF NOT EXISTS \`${o.database}\`;`,
    '',
    ...TABLES.map((t) => `${athenaCreateTable(t, o)}\n`),
  ].join('\n')
}

export function redshiftSpectrumDdl(o: SqlOptions): string {
  return [
    '-- Redshift Spectrum: the Glue database as an external schema (tables and partitions come from Glue).',
    `CREATE EXTERNAL SCHEMA IF NOT EXISTS pedepronto_lake`,
    `FROM DATA CATALOG DATABASE '${q(o.database)}'`,
    `IAM_ROLE '${q(o.iamRole)}'`,
    `REGION '${q(o.region)}';`,
    '',
    '-- Example: SELECT restaurant_id, count(*) FROM pedepronto_lake.order_facts GROUP BY 1;',
  ].join('\n')
}

export function manifestKey(prefix: string, table: string): string {
  return [prefix, '_manifests', `${table}.manifest.json`].filter((p) => p !== '').join('/')
}

export interface RedshiftManifest {
  entries: { url: string; mandatory: boolean; meta: { content_length: number } }[]
}

/** The COPY manifest of a table's Parquet files (Redshift requires content_length for Parquet). */
export function buildManifest(
  bucket: string,
  prefix: string,
  table: string,
  objects: readonly LakeObject[],
): RedshiftManifest {
  const under = tablePrefix(prefix, table)
  const files = objects.filter((o) => o.key.startsWith(under) && parseFileKey(o.key)?.ext === 'parquet')
  return {
    entries: files.map((o) => ({
      url: `s3://${bucket}/${o.key}`,
      mandatory: true,
      meta: { content_length: o.size },
    })),
  }
}

export function redshiftCopyDdl(o: SqlOptions, table: TableDef = ORDER_FACTS): string {
  const cols = table.columns.map((c) => `  ${c.name} ${redshiftType(c.type)}${c.nullable ? '' : ' NOT NULL'}`)
  return [
    `-- Redshift: load ${table.name} from the lake's Parquet files listed in the manifest.`,
    `CREATE TABLE IF NOT EXISTS ${table.name} (`,
    cols.join(',\n'),
    ');',
    '',
    `COPY ${table.name}`,
    `FROM 's3://${o.bucket}/${manifestKey(o.prefix, table.name)}'`,
    `IAM_ROLE '${q(o.iamRole)}'`,
    'FORMAT AS PARQUET',
    'MANIFEST;',
  ].join('\n')
}

export interface SqlBundle {
  'athena.sql': string
  'redshift-spectrum.sql': string
  'redshift-copy.sql': string
}

export function sqlBundle(o: SqlOptions): SqlBundle {
  return {
    'athena.sql': `${athenaDdl(o)}\n`,
    'redshift-spectrum.sql': `${redshiftSpectrumDdl(o)}\n`,
    'redshift-copy.sql': `${redshiftCopyDdl(o)}\n`,
  }
}
