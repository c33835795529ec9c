/**
 * Lands the demo's events in the lake bucket as JSON lines, Hive-partitioned by event time
 * (`raw/<table>/dt=YYYY-MM-DD/hr=HH/`). The Parquet lake of the cloud sink (issue #6) replaces this.
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { IngestedEvent } from '@pedepronto/contracts'

export interface LakeResult {
  prefix: string
  objects: number
  bytes: number
}

function tableOf(type: IngestedEvent['type']): string {
  return type.replace('.', '_')
}

export async function landInLake(
  s3: S3Client,
  bucket: string,
  events: readonly IngestedEvent[],
): Promise<LakeResult> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
    const name = (error as { name?: string }).name
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error
  })
  const groups = new Map<string, IngestedEvent[]>()
  for (const e of events) {
    const iso = new Date(e.event_time).toISOString()
    const key = `raw/${tableOf(e.type)}/dt=${iso.slice(0, 10)}/hr=${iso.slice(11, 13)}`
    const list = groups.get(key)
    if (list) list.push(e)
    else groups.set(key, [e])
  }
  let bytes = 0
  for (const [prefix, list] of groups) {
    list.sort((a, b) => a.event_time - b.event_time || a.event_id.localeCompare(b.event_id))
    const body = `${list.map((e) => JSON.stringify(e)).join('\n')}\n`
    bytes += Buffer.byteLength(body)
    // Named after the first event: a re-run of the same seed rewrites the same object.
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}/demo-${list[0]?.event_id}.jsonl`,
        Body: body,
        ContentType: 'application/x-ndjson',
      }),
    )
  }
  return { prefix: 'raw/', objects: groups.size, bytes }
}
