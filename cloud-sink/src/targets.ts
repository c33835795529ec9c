/**
 * Where the lake lives, behind one contract (the Benthos "output" shape):
 *  - `put(key, bytes)` resolves only once the object is durable and complete under its final key
 *    (S3: the Upload finished; local: written to a temp file, fsynced and renamed), so the caller may
 *    commit the Kafka offsets of the records in it. A put of an existing key replaces it atomically.
 *  - `list(prefix)` returns every key under the prefix with its size.
 *  - `get(key)` returns the bytes, or undefined when there is no such object.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { SinkError } from './errors.js'

export interface LakeObject {
  key: string
  size: number
}

export interface LakeTarget {
  readonly kind: 'local' | 's3'
  /** Human-readable location, e.g. `s3://bucket` or `/abs/lake`. */
  readonly location: string
  put(key: string, bytes: Uint8Array, contentType?: string): Promise<void>
  list(prefix: string): Promise<LakeObject[]>
  get(key: string): Promise<Uint8Array | undefined>
  /** Readiness: the bucket or folder is reachable. */
  ready(): Promise<boolean>
  close(): Promise<void>
}

let tempCounter = 0

export class LocalTarget implements LakeTarget {
  readonly kind = 'local' as const
  readonly root: string

  constructor(root: string) {
    this.root = resolve(root)
  }

  get location(): string {
    return this.root
  }

  #path(key: string): string {
    const path = resolve(this.root, key)
    if (!path.startsWith(this.root + sep)) {
      throw new SinkError(
        'SINK_UPLOAD_FAILED',
        `key ${JSON.stringify(key)} escapes the lake folder ${this.root}`,
      )
    }
    return path
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.#path(key)
    mkdirSync(dirname(path), { recursive: true })
    // Dot-prefixed temp name in the same folder: rename is atomic within a file system, and readers
    // globbing *.parquet never see a half-written file.
    const tmp = join(dirname(path), `.${process.pid}.${++tempCounter}.tmp`)
    const fd = openSync(tmp, 'w')
    try {
      let written = 0
      while (written < bytes.length) written += writeSync(fd, bytes, written)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const out: LakeObject[] = []
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[]
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch {
        return
      }
      for (const entry of entries) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) await walk(path)
        else if (entry.isFile() && !entry.name.startsWith('.')) {
          const key = relative(this.root, path).split(sep).join('/')
          if (key.startsWith(prefix)) out.push({ key, size: (await stat(path)).size })
        }
      }
    }
    // Walk from the deepest folder the prefix names, not from the root.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
    await walk(dirPart === '' ? this.root : this.#path(dirPart))
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return readFileSync(this.#path(key))
    } catch {
      return undefined
    }
  }

  async ready(): Promise<boolean> {
    mkdirSync(this.root, { recursive: true })
    return true
  }

  async close(): Promise<void> {}
}

export interface S3TargetOptions {
  bucket: string
  region: string
  /** Endpoint override (moto); path-style addressing is used whenever it is set. */
  endpoint?: string
  credentials?: { accessKeyId: string; secretAccessKey: string }
  /** Part size for multipart uploads (≥ 5 MiB, S3's minimum). */
  partSize?: number
  createBucket?: boolean
}

export class S3Target implements LakeTarget {
  readonly kind = 's3' as const
  readonly bucket: string
  readonly s3: S3Client
  readonly #partSize: number
  readonly #createBucket: boolean
  #bucketChecked = false

  constructor(options: S3TargetOptions) {
    this.bucket = options.bucket
    const endpoint = options.endpoint === '' ? undefined : options.endpoint
    this.s3 = new S3Client({
      region: options.region,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    })
    this.#partSize = Math.max(options.partSize ?? 8 * 1024 * 1024, 5 * 1024 * 1024)
    this.#createBucket = options.createBucket ?? false
  }

  get location(): string {
    return `s3://${this.bucket}`
  }

  async #ensureBucket(): Promise<void> {
    if (this.#bucketChecked || !this.#createBucket) return
    await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket })).catch((error: unknown) => {
      const name = (error as { name?: string }).name
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error
    })
    this.#bucketChecked = true
  }

  async put(key: string, bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    await this.#ensureBucket()
    try {
      // lib-storage switches to multipart above one part; S3 makes the object visible only on
      // CompleteMultipartUpload, so a crash mid-upload leaves no partial object under the key.
      const upload = new Upload({
        client: this.s3,
        params: { Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType },
        partSize: this.#partSize,
        queueSize: 2,
        leavePartsOnError: false,
      })
      await upload.done()
    } catch (error) {
      throw new SinkError(
        'SINK_UPLOAD_FAILED',
        `upload of s3://${this.bucket}/${key} failed: ${(error as Error).message}`,
        {
          cause: error,
          canRetry: true,
          hint: 'check the bucket exists and the credentials may write to it; the sink retries and commits nothing meanwhile',
        },
      )
    }
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const out: LakeObject[] = []
    let token: string | undefined
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      )
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0 })
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return out
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      return r.Body ? await r.Body.transformToByteArray() : new Uint8Array()
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined
      throw error
    }
  }

  async ready(): Promise<boolean> {
    try {
      await this.#ensureBucket()
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: AbortSignal.timeout(3_000),
      })
      return true
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    this.s3.destroy()
  }
}

export interface TargetSettings {
  target: 'local' | 's3'
  localDir: string
  bucket: string
  region: string
  endpoint: string
  credentials?: { accessKeyId: string; secretAccessKey: string }
  createBucket?: boolean
}

export function createTarget(settings: TargetSettings): LakeTarget {
  if (settings.target === 'local') return new LocalTarget(settings.localDir)
  return new S3Target({
    bucket: settings.bucket,
    region: settings.region,
    endpoint: settings.endpoint,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    ...(settings.createBucket !== undefined ? { createBucket: settings.createBucket } : {}),
  })
}
