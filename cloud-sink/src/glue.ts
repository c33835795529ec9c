/**
 * The Glue catalog of the lake: one database, one external Parquet table per lake table, columns
 * from tables.ts, Hive partitions dt/hr, and partition projection properties so that Athena needs no
 * partition registration; partitions are still registered (BatchCreatePartition) as files land, for
 * Redshift Spectrum and for engines that ignore projection. Everything is idempotent.
 */
import {
  AlreadyExistsException,
  BatchCreatePartitionCommand,
  type Column,
  CreateDatabaseCommand,
  CreateTableCommand,
  GetTableCommand,
  GlueClient,
  type StorageDescriptor,
  type TableInput,
  UpdateTableCommand,
} from '@aws-sdk/client-glue'
import { SinkError } from './errors.js'
import type { HourPartition } from './layout.js'
import type { ColumnType, TableDef } from './tables.js'

export const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
export const PARQUET_INPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
export const PARQUET_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'

/** Hive/Glue type of a column type (Athena and Spectrum read INT64 TIMESTAMP_MILLIS as timestamp). */
export function glueType(type: ColumnType): string {
  switch (type) {
    case 'string':
      return 'string'
    case 'int64':
      return 'bigint'
    case 'double':
      return 'double'
    case 'timestamp_ms':
      return 'timestamp'
  }
}

export function glueColumns(table: TableDef): Column[] {
  return table.columns.map((col) => ({ Name: col.name, Type: glueType(col.type), Comment: col.description }))
}

export const PARTITION_KEYS: Column[] = [
  { Name: 'dt', Type: 'string', Comment: 'event-time date (UTC), YYYY-MM-DD' },
  { Name: 'hr', Type: 'string', Comment: 'event-time hour (UTC), 00-23' },
]

/** `s3://bucket/prefix/table/` (the table's location; partitions are dt=…/hr=… below it). */
export function tableLocation(bucket: string, prefix: string, table: string): string {
  return `s3://${[bucket, prefix, table].filter((p) => p !== '').join('/')}/`
}

/** Athena partition projection (docs: "Partition projection with Amazon Athena"). */
export function projectionProperties(location: string, startDate = '2024-01-01'): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.dt.type': 'date',
    'projection.dt.format': 'yyyy-MM-dd',
    'projection.dt.range': `${startDate},NOW`,
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
    'projection.hr.type': 'integer',
    'projection.hr.range': '0,23',
    'projection.hr.digits': '2',
    'storage.location.template': `${location}dt=\${dt}/hr=\${hr}/`,
  }
}

function storageDescriptor(columns: Column[], location: string): StorageDescriptor {
  return {
    Columns: columns,
    Location: location,
    InputFormat: PARQUET_INPUT_FORMAT,
    OutputFormat: PARQUET_OUTPUT_FORMAT,
    SerdeInfo: { SerializationLibrary: PARQUET_SERDE, Parameters: { 'serialization.format': '1' } },
    Compressed: true,
  }
}

export function tableInput(table: TableDef, bucket: string, prefix: string): TableInput {
  const location = tableLocation(bucket, prefix, table.name)
  return {
    Name: table.name,
    Description: table.description,
    TableType: 'EXTERNAL_TABLE',
    PartitionKeys: PARTITION_KEYS,
    Parameters: {
      EXTERNAL: 'TRUE',
      classification: 'parquet',
      'parquet.compression': 'ZSTD',
      ...projectionProperties(location),
    },
    StorageDescriptor: storageDescriptor(glueColumns(table), location),
  }
}

function isAlreadyExists(error: unknown): boolean {
  return (
    error instanceof AlreadyExistsException || (error as { name?: string }).name === 'AlreadyExistsException'
  )
}

export interface GlueCatalogOptions {
  database: string
  bucket: string
  prefix: string
  region: string
  endpoint?: string
  credentials?: { accessKeyId: string; secretAccessKey: string }
}

export class GlueCatalog {
  readonly glue: GlueClient
  readonly options: GlueCatalogOptions
  readonly #known = new Set<string>()

  constructor(options: GlueCatalogOptions) {
    this.options = options
    const endpoint = options.endpoint === '' ? undefined : options.endpoint
    this.glue = new GlueClient({
      region: options.region,
      ...(endpoint ? { endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    })
  }

  /** Creates the database and tables, or brings existing tables' columns up to date (add-only). */
  async ensureTables(tables: readonly TableDef[]): Promise<{ created: string[]; updated: string[] }> {
    const { database, bucket, prefix } = this.options
    const created: string[] = []
    const updated: string[] = []
    try {
      await this.glue
        .send(
          new CreateDatabaseCommand({
            DatabaseInput: { Name: database, Description: 'Pede Pronto Edge lake (cloud-sink)' },
          }),
        )
        .catch((error: unknown) => {
          if (!isAlreadyExists(error)) throw error
        })
      for (const table of tables) {
        const input = tableInput(table, bucket, prefix)
        try {
          await this.glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: input }))
          created.push(table.name)
        } catch (error) {
          if (!isAlreadyExists(error)) throw error
          const existing = await this.glue.send(
            new GetTableCommand({ DatabaseName: database, Name: table.name }),
          )
          const have = existing.Table?.StorageDescriptor?.Columns?.map((c) => `${c.Name}:${c.Type}`).join(',')
          const want = input.StorageDescriptor?.Columns?.map((c) => `${c.Name}:${c.Type}`).join(',')
          if (have !== want) {
            await this.glue.send(new UpdateTableCommand({ DatabaseName: database, TableInput: input }))
            updated.push(table.name)
          }
        }
      }
    } catch (error) {
      throw new SinkError(
        'SINK_GLUE_FAILED',
        `cannot create the Glue tables in ${database}: ${(error as Error).message}`,
        {
          cause: error,
          canRetry: true,
          hint: 'check the AWS endpoint/credentials (glue:CreateDatabase, glue:CreateTable, glue:UpdateTable)',
        },
      )
    }
    return { created, updated }
  }

  /** Registers the partitions not yet known to this process; AlreadyExists entries are fine. */
  async addPartitions(table: TableDef, hours: readonly HourPartition[]): Promise<number> {
    const { database, bucket, prefix } = this.options
    const fresh = hours.filter((h) => !this.#known.has(`${table.name}/${h.dt}/${h.hr}`))
    if (fresh.length === 0) return 0
    const location = tableLocation(bucket, prefix, table.name)
    const columns = glueColumns(table)
    let added = 0
    // BatchCreatePartition takes at most 100 partitions per call.
    for (let i = 0; i < fresh.length; i += 100) {
      const chunk = fresh.slice(i, i + 100)
      const r = await this.glue.send(
        new BatchCreatePartitionCommand({
          DatabaseName: database,
          TableName: table.name,
          PartitionInputList: chunk.map((h) => ({
            Values: [h.dt, h.hr],
            StorageDescriptor: storageDescriptor(columns, `${location}dt=${h.dt}/hr=${h.hr}/`),
          })),
        }),
      )
      const failed = (r.Errors ?? []).filter((e) => e.ErrorDetail?.ErrorCode !== 'AlreadyExistsException')
      if (failed.length > 0) {
        throw new SinkError(
          'SINK_GLUE_FAILED',
          `BatchCreatePartition on ${database}.${table.name} failed for ${failed.length} partition(s): ${failed[0]?.ErrorDetail?.ErrorMessage}`,
          { canRetry: true },
        )
      }
      added += chunk.length - (r.Errors?.length ?? 0)
    }
    for (const h of fresh) this.#known.add(`${table.name}/${h.dt}/${h.hr}`)
    return added
  }

  close(): void {
    this.glue.destroy()
  }
}
