/**
 * Downlink: commands from the commands topic reach their device — over MQTT on the device's command
 * topic, or over its serial port. Commands for a device that is offline are kept (bounded per device
 * and in time, and never past their own `expires_at`) and delivered when it comes back.
 */
import type { Command } from '@pedepronto/contracts'

export type Deliver = (command: Command) => Promise<boolean>

interface Held {
  command: Command
  until: number
}

export class CommandHold {
  readonly #byDevice = new Map<string, Held[]>()
  readonly #retentionMs: number
  readonly #maxPerDevice: number
  readonly #now: () => number

  constructor(options: { retentionMs: number; maxPerDevice?: number; now: () => number }) {
    this.#retentionMs = options.retentionMs
    this.#maxPerDevice = options.maxPerDevice ?? 100
    this.#now = options.now
  }

  /** Keeps a command for later; returns the number of commands dropped to stay in bounds. */
  hold(command: Command): number {
    const until = Math.min(command.expires_at, this.#now() + this.#retentionMs)
    const list = this.#byDevice.get(command.device_id) ?? []
    list.push({ command, until })
    let dropped = 0
    while (list.length > this.#maxPerDevice) {
      list.shift()
      dropped++
    }
    this.#byDevice.set(command.device_id, list)
    return dropped
  }

  /** Takes the device's held commands that are still valid, in order; counts the expired ones. */
  take(deviceId: string): { commands: Command[]; expired: number } {
    const list = this.#byDevice.get(deviceId)
    if (!list) return { commands: [], expired: 0 }
    this.#byDevice.delete(deviceId)
    const now = this.#now()
    const valid = list.filter((h) => h.until > now)
    return { commands: valid.map((h) => h.command), expired: list.length - valid.length }
  }

  /** Forgets expired commands everywhere; returns how many. */
  sweep(): number {
    const now = this.#now()
    let expired = 0
    for (const [device, list] of this.#byDevice) {
      const valid = list.filter((h) => h.until > now)
      expired += list.length - valid.length
      if (valid.length === 0) this.#byDevice.delete(device)
      else this.#byDevice.set(device, valid)
    }
    return expired
  }

  get size(): number {
    let n = 0
    for (const list of this.#byDevice.values()) n += list.length
    return n
  }
}
