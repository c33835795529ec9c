/**
 * Where the Parquet writer runs. The sink builds the Arrow IPC stream of a file on the main thread
 * (parquet.ts) and hands it to an encoder:
 *  - `InlineEncoder` runs parquet-wasm's writer right there;
 *  - `WorkerEncoder` runs it on a worker thread, the IPC bytes transferred (not copied) and the
 *    Parquet bytes transferred back, so the main thread keeps decoding Kafka batches meanwhile
 *    (issue #6: once uploads were pipelined and rows became columns, the writer was the largest
 *    item on the main thread, see the sink bench).
 * A worker that dies fails the encodes it had (the upload pipeline retries them) and is replaced on
 * the next encode.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { type ParquetCompression, parquetFromIpc } from './parquet-writer.js'

export interface EncodeRequest {
  id: number
  ipc: Uint8Array
  compression: ParquetCompression
}

export type EncodeReply = { id: number; bytes: Uint8Array } | { id: number; error: string }

export interface ParquetEncoder {
  readonly kind: 'inline' | 'worker'
  /** Parquet bytes of an Arrow IPC stream; may take over (detach) the `ipc` buffer. */
  encode(ipc: Uint8Array, compression: ParquetCompression): Promise<Uint8Array>
  close(): Promise<void>
}

export class InlineEncoder implements ParquetEncoder {
  readonly kind = 'inline' as const

  async encode(ipc: Uint8Array, compression: ParquetCompression): Promise<Uint8Array> {
    return parquetFromIpc(ipc, compression)
  }

  async close(): Promise<void> {}
}

interface Waiting {
  resolve(bytes: Uint8Array): void
  reject(error: Error): void
}

export class WorkerEncoder implements ParquetEncoder {
  readonly kind = 'worker' as const
  readonly #script: URL
  #worker: Worker | undefined
  readonly #waiting = new Map<number, Waiting>()
  #next = 0

  constructor(script: URL) {
    this.#script = script
  }

  encode(ipc: Uint8Array, compression: ParquetCompression): Promise<Uint8Array> {
    const worker = this.#worker ?? this.#spawn()
    const id = ++this.#next
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      const request: EncodeRequest = { id, ipc, compression }
      // Transfer only a buffer the view covers whole: a view into a larger (pooled) one is copied.
      const whole = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength
      worker.postMessage(request, whole ? [ipc.buffer as ArrayBuffer] : [])
    })
  }

  async close(): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    this.#failAll(new Error('the Parquet encoder was closed'))
    if (worker) await worker.terminate()
  }

  #spawn(): Worker {
    const worker = new Worker(fileURLToPath(this.#script))
    // Waiting encodes are what keeps the process busy; an idle encoder must not keep it alive.
    worker.unref()
    worker.on('message', (reply: EncodeReply) => {
      const waiting = this.#waiting.get(reply.id)
      if (!waiting) return
      this.#waiting.delete(reply.id)
      if ('bytes' in reply) waiting.resolve(reply.bytes)
      else waiting.reject(new Error(`Parquet encoding failed: ${reply.error}`))
    })
    const lost = (error: Error) => {
      if (this.#worker === worker) this.#worker = undefined
      this.#failAll(error)
    }
    worker.on('error', (error) => lost(error))
    worker.on('exit', (code) => lost(new Error(`the Parquet encoder thread exited with code ${code}`)))
    this.#worker = worker
    return worker
  }

  #failAll(error: Error): void {
    const waiting = [...this.#waiting.values()]
    this.#waiting.clear()
    for (const w of waiting) w.reject(error)
  }
}

/**
 * The built worker script. Under vitest this module runs from src/*.ts, but a worker thread is plain
 * Node without a TypeScript loader, so it always starts dist/encoder-worker.js.
 */
export function encoderWorkerScript(): URL {
  const here = import.meta.url
  return here.endsWith('.ts')
    ? new URL('../dist/encoder-worker.js', here)
    : new URL('./encoder-worker.js', here)
}

/** A worker encoder when the built worker script exists, else inline (reported by `kind`). */
export function createEncoder(mode: 'worker' | 'inline' = 'worker'): ParquetEncoder {
  const script = encoderWorkerScript()
  if (mode === 'worker' && existsSync(fileURLToPath(script))) return new WorkerEncoder(script)
  return new InlineEncoder()
}
