/** The serialport adapter behind {@link SerialLine}: the only file that touches the serialport package. */
import { SerialPort } from 'serialport'
import type { SerialLine } from './bridge.js'

export async function openSerialPort(path: string, baudRate: number): Promise<SerialLine> {
  const port = new SerialPort({ path, baudRate, autoOpen: false, hupcl: false })
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())))
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        port.write(Buffer.from(bytes), (error) =>
          error ? reject(error) : port.drain((e) => (e ? reject(e) : resolve())),
        )
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve()
        port.close(() => resolve())
      }),
    onData: (listener) => {
      port.on('data', listener)
    },
    onClose: (listener) => {
      // 'close' follows an unplug or EIO (disconnected: true) as well as our own close().
      port.on('close', (error?: Error) => listener(error ?? undefined))
      port.on('error', () => {
        if (port.isOpen) port.close(() => undefined)
      })
    },
  }
}
