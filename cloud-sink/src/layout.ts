/**
 * Object keys of the lake (Kafka Connect S3 sink's naming, Hive partitions by *event* time):
 *   <prefix>/<table>/dt=YYYY-MM-DD/hr=HH/<topic>+<partition>+<first offset, 20 digits>.parquet
 *   <prefix>/_rejected/<table>/<topic>+<partition>+<first offset>.jsonl
 * The name depends only on the first record of the file, so a rewrite after a crash replaces the
 * object instead of adding a second one.
 */

export interface HourPartition {
  dt: string
  hr: string
}

export function hourOf(epochMs: number): HourPartition {
  const iso = new Date(epochMs).toISOString()
  return { dt: iso.slice(0, 10), hr: iso.slice(11, 13) }
}

export function hourKey(h: HourPartition): string {
  return `dt=${h.dt}/hr=${h.hr}`
}

export function padOffset(offset: string | bigint): string {
  return BigInt(offset).toString().padStart(20, '0')
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/')
}

export function fileName(
  topic: string,
  partition: number,
  firstOffset: string | bigint,
  ext: string,
): string {
  return `${topic}+${partition}+${padOffset(firstOffset)}.${ext}`
}

export function dataKey(
  prefix: string,
  table: string,
  hour: HourPartition,
  topic: string,
  partition: number,
  firstOffset: string | bigint,
): string {
  return join(prefix, table, hourKey(hour), fileName(topic, partition, firstOffset, 'parquet'))
}

export function rejectedKey(
  prefix: string,
  table: string,
  topic: string,
  partition: number,
  firstOffset: string | bigint,
): string {
  return join(prefix, '_rejected', table, fileName(topic, partition, firstOffset, 'jsonl'))
}

export function tablePrefix(prefix: string, table: string): string {
  return `${join(prefix, table)}/`
}

export function rejectedPrefix(prefix: string, table: string): string {
  return `${join(prefix, '_rejected', table)}/`
}

const FILE_RE = /(?:^|\/)([a-zA-Z0-9._-]+)\+(\d+)\+(\d{20})\.(parquet|jsonl)$/

/** Topic, partition and first offset of a lake object, or undefined for foreign keys. */
export function parseFileKey(
  key: string,
): { topic: string; partition: number; firstOffset: bigint; ext: string } | undefined {
  const m = FILE_RE.exec(key)
  if (!m) return undefined
  return {
    topic: m[1] as string,
    partition: Number(m[2]),
    firstOffset: BigInt(m[3] as string),
    ext: m[4] as string,
  }
}
