/**
 * The Parquet encoder thread (encoder.ts): receives Arrow IPC bytes (transferred, not copied),
 * answers with the Parquet bytes (transferred back) or the error message. Plain Node, no TypeScript
 * loader: it always runs from dist/.
 */
import { parentPort } from 'node:worker_threads'
import type { EncodeReply, EncodeRequest } from './encoder.js'
import { parquetFromIpc } from './parquet-writer.js'

const port = parentPort
if (!port) throw new Error('encoder-worker.js runs as a worker thread (cloud-sink encoder.ts)')
port.on('message', (request: EncodeRequest) => {
  let reply: EncodeReply
  try {
    const bytes = parquetFromIpc(request.ipc, request.compression)
    reply = { id: request.id, bytes }
    port.postMessage(reply, [bytes.buffer as ArrayBuffer])
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) }
    port.postMessage(reply)
  }
})
