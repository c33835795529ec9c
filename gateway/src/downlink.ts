/**
 * Downlink: commands from the commands topic reach their device — over MQTT on the device's command
 * topic, or over its serial port. Commands for a device that is offline are kept (bounded per device
 * and in time, and never past their own `expires_at`) and delivered when it comes back.
 *
 * Delivery is at least once up to the device's acknowledgement: a consumed command stays
 * *unsettled* — and holds back its partition's committed offset — until the device acknowledged it
 * (MQTT PUBACK, serial ACK), it expired, it was invalid, or the hold's bound dropped it. A gateway
 * that dies with commands in its hold or unacknowledged on the wire resumes from an offset at or
 * before them, so they are consumed again; devices de-duplicate by `command_id`.
 *
 * Everything here is pure (no kafkajs, no aedes, no clock of its own): the gateway is the adapter.
 */
import type { Command } from '@pedepronto/contracts'

export type Deliver = (command: Command) => Promise<boolean>

export interface TopicPartition {
  topic: string
  partition: number
}

/** Where a consumed command came from: settling it releases this offset for the commit. */
export interface CommandTicket extends TopicPartition {
  offset: bigint
}

/** A command on its way to one device, with the offsets that wait for it. */
export interface PendingCommand {
  command: Command
  /** Usually one; more when the same command was consumed again (a rebalance, a duplicate record). */
  tickets: CommandTicket[]
  /** It was written once and the device went away before acknowledging it. */
  redelivery: boolean
}

function tpKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`
}

function sameTicket(a: CommandTicket, b: CommandTicket): boolean {
  return a.partition === b.partition && a.offset === b.offset && a.topic === b.topic
}

interface PartitionOffsets {
  tp: TopicPartition
  /** Tracked offsets in ascending order from `head`; settled ones are skipped lazily. */
  order: bigint[]
  head: number
  unsettled: Set<bigint>
  highest: bigint
}

/**
 * Which offset of each topic-partition may be committed: the lowest one not yet settled, or the
 * highest tracked + 1 when all are settled. A Kafka commit names the next offset to read (Kafka
 * protocol, OffsetCommit), so committing the lowest unsettled offset re-reads it after a restart.
 *
 * Settling is by offset, so it stays right across {@link reset}: an offset settled by a delivery
 * from before a rebalance was delivered all the same; one the tracker no longer knows is ignored.
 */
export class OffsetTracker {
  readonly #partitions = new Map<string, PartitionOffsets>()
  #unsettled = 0

  /** A command was consumed at `offset`. Tracking an offset that is still unsettled is a no-op. */
  track(tp: TopicPartition, offset: bigint): void {
    const key = tpKey(tp)
    let p = this.#partitions.get(key)
    if (!p) {
      p = {
        tp: { topic: tp.topic, partition: tp.partition },
        order: [],
        head: 0,
        unsettled: new Set(),
        highest: offset,
      }
      this.#partitions.set(key, p)
    }
    if (p.unsettled.has(offset)) return
    p.unsettled.add(offset)
    this.#unsettled++
    if (offset > p.highest) p.highest = offset
    const last = p.order[p.order.length - 1]
    if (p.head >= p.order.length || last === undefined || offset > last) {
      p.order.push(offset)
      return
    }
    // Out of order (consumed again below what was seen): keep `order` sorted from `head`.
    let lo = p.head
    let hi = p.order.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((p.order[mid] as bigint) < offset) lo = mid + 1
      else hi = mid
    }
    if (p.order[lo] !== offset) p.order.splice(lo, 0, offset)
  }

  /** The command consumed at `offset` is done with; returns whether it was unsettled. */
  settle(tp: TopicPartition, offset: bigint): boolean {
    const p = this.#partitions.get(tpKey(tp))
    if (!p?.unsettled.delete(offset)) return false
    this.#unsettled--
    return true
  }

  /** The offset to commit for `tp` (the next one to read), or undefined when nothing was tracked. */
  committable(tp: TopicPartition): bigint | undefined {
    const p = this.#partitions.get(tpKey(tp))
    if (!p) return undefined
    while (p.head < p.order.length && !p.unsettled.has(p.order[p.head] as bigint)) p.head++
    if (p.head > 1_024 && p.head * 2 > p.order.length) {
      p.order = p.order.slice(p.head)
      p.head = 0
    }
    const lowest = p.order[p.head]
    return lowest ?? p.highest + 1n
  }

  /** The topic-partitions tracked since the last reset. */
  partitions(): TopicPartition[] {
    return [...this.#partitions.values()].map((p) => p.tp)
  }

  /** Tracked offsets not yet settled, over all partitions. */
  get unsettled(): number {
    return this.#unsettled
  }

  /**
   * Forgets everything: after a rebalance the consumer reads again from the committed offsets, and
   * those never pass an offset that was unsettled — so what was forgotten is consumed again.
   */
  reset(): void {
    this.#partitions.clear()
    this.#unsettled = 0
  }
}

interface Held extends PendingCommand {
  until: number
}

/**
 * Commands held for devices that cannot take them now. Bounded per device (the oldest are dropped
 * first) and in time (`retentionMs`, and never past a command's `expires_at`). Whatever leaves the
 * hold without reaching its device is returned to the caller, whose job is to settle its tickets.
 */
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

  /**
   * Keeps commands for later, after (or with `front`, before) those already held for their device.
   * A command already held (same `command_id`) is not held twice: its tickets join the held one.
   * Returns what was dropped, oldest first, to stay within the per-device bound.
   */
  hold(items: readonly PendingCommand[], options: { front?: boolean } = {}): PendingCommand[] {
    const dropped: PendingCommand[] = []
    const touched = new Set<string>()
    const fresh = new Map<string, Held[]>()
    for (const p of items) {
      const device = p.command.device_id
      const list = this.#byDevice.get(device) ?? []
      this.#byDevice.set(device, list)
      touched.add(device)
      const known = list.find((h) => h.command.command_id === p.command.command_id)
      if (known) {
        for (const t of p.tickets) if (!known.tickets.some((k) => sameTicket(k, t))) known.tickets.push(t)
        known.redelivery ||= p.redelivery
        continue
      }
      const until = Math.min(p.command.expires_at, this.#now() + this.#retentionMs)
      const held: Held = { command: p.command, tickets: [...p.tickets], redelivery: p.redelivery, until }
      if (options.front) {
        const f = fresh.get(device) ?? []
        f.push(held)
        fresh.set(device, f)
      } else {
        list.push(held)
      }
    }
    for (const [device, f] of fresh) this.#byDevice.get(device)?.unshift(...f)
    for (const device of touched) {
      const list = this.#byDevice.get(device) as Held[]
      while (list.length > this.#maxPerDevice) dropped.push(strip(list.shift() as Held))
      if (list.length === 0) this.#byDevice.delete(device)
    }
    return dropped
  }

  /** Takes the device's held commands that are still valid, in order, and the expired ones. */
  take(deviceId: string): { commands: PendingCommand[]; expired: PendingCommand[] } {
    const list = this.#byDevice.get(deviceId)
    if (!list) return { commands: [], expired: [] }
    this.#byDevice.delete(deviceId)
    const now = this.#now()
    const commands: PendingCommand[] = []
    const expired: PendingCommand[] = []
    for (const h of list) (h.until > now ? commands : expired).push(strip(h))
    return { commands, expired }
  }

  /** Removes one held command (the device acknowledged a copy sent some other way). */
  remove(deviceId: string, commandId: string): PendingCommand | undefined {
    const list = this.#byDevice.get(deviceId)
    const i = list?.findIndex((h) => h.command.command_id === commandId) ?? -1
    if (!list || i < 0) return undefined
    const [h] = list.splice(i, 1)
    if (list.length === 0) this.#byDevice.delete(deviceId)
    return strip(h as Held)
  }

  /** Forgets expired commands everywhere; returns them. */
  sweep(): PendingCommand[] {
    const now = this.#now()
    const expired: PendingCommand[] = []
    for (const [device, list] of this.#byDevice) {
      const valid = list.filter((h) => h.until > now)
      for (const h of list) if (h.until <= now) expired.push(strip(h))
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

function strip(h: Held): PendingCommand {
  return { command: h.command, tickets: h.tickets, redelivery: h.redelivery }
}

/**
 * Commands written to MQTT clients at QoS 1 and not yet acknowledged, per client, in write order.
 *
 * With clean sessions and aedes' memory persistence the 'ack' event carries no packet, so a PUBACK
 * cannot be matched by message id. It does not need to be: a client MUST send PUBACKs in the order
 * it received the QoS 1 PUBLISHes (MQTT 3.1.1 §4.6), and the only QoS 1 PUBLISHes a device receives
 * are its commands (the ACL lets it subscribe to nothing else) — so each PUBACK is for the oldest.
 */
export class AwaitingAck<C extends object> {
  readonly #byClient = new Map<C, Written[]>()
  #size = 0

  /**
   * `pending` was handed to `client`'s connection at QoS 1. A device that never acknowledges it
   * would hold its offset back for good, so it is given up (see {@link expire}) at `until`.
   */
  written(client: C, pending: PendingCommand, until: number): void {
    const entry: Written = { pending, until, expired: false }
    const list = this.#byClient.get(client)
    if (list) list.push(entry)
    else this.#byClient.set(client, [entry])
    this.#size++
  }

  /**
   * A PUBACK from `client` (MQTT 3.1.1 §4.6: for the oldest unacknowledged PUBLISH). Undefined when
   * nothing awaited it, or when the command it acknowledges was given up already.
   */
  acked(client: C): PendingCommand | undefined {
    const list = this.#byClient.get(client)
    const first = list?.shift()
    if (!list || !first) return undefined
    if (list.length === 0) this.#byClient.delete(client)
    if (first.expired) return undefined
    this.#size--
    return first.pending
  }

  /** A PUBACK known to be for `commandId` (persistent sessions: aedes returns the stored packet). */
  ackedById(client: C, commandId: string): PendingCommand | undefined {
    const list = this.#byClient.get(client)
    const i = list?.findIndex((w) => w.pending.command.command_id === commandId) ?? -1
    if (!list || i < 0) return undefined
    const [found] = list.splice(i, 1) as [Written]
    if (list.length === 0) this.#byClient.delete(client)
    if (found.expired) return undefined
    this.#size--
    return found.pending
  }

  /**
   * Gives up the commands whose time passed and returns them. Each stays in its queue as a
   * placeholder, so that the PUBACKs that follow are still matched to the right PUBLISH (§4.6).
   */
  expire(now: number): PendingCommand[] {
    const expired: PendingCommand[] = []
    for (const list of this.#byClient.values()) {
      for (const w of list) {
        if (w.expired || w.until > now) continue
        w.expired = true
        this.#size--
        expired.push(w.pending)
      }
    }
    return expired
  }

  /** The connection is gone: what it did not acknowledge and was not given up, in write order. */
  disconnected(client: C): PendingCommand[] {
    const list = this.#byClient.get(client) ?? []
    this.#byClient.delete(client)
    const open = list.filter((w) => !w.expired).map((w) => w.pending)
    this.#size -= open.length
    return open
  }

  /** Commands awaiting a PUBACK (not counting the ones given up). */
  get size(): number {
    return this.#size
  }
}

interface Written {
  pending: PendingCommand
  until: number
  expired: boolean
}

/** Whether an MQTT topic filter matches a topic name (MQTT 3.1.1 §4.7.1: '+' one level, '#' the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  // §4.7.2: a filter starting with a wildcard does not match topics starting with '$'.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    // §4.7.1.2: 'a/#' also matches 'a' itself.
    if (level === '#') return i === f.length - 1
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

/**
 * The QoS a command on `topic` goes out with to a client holding `subscriptions` (filter → granted
 * QoS), or null when none matches. With overlapping subscriptions the server delivers at the
 * highest granted QoS (MQTT 3.1.1 §3.3.5), and never above the 1 the gateway publishes at (§3.8.4).
 */
export function deliveryQos(
  subscriptions: Readonly<Record<string, { qos: number } | undefined>>,
  topic: string,
): 0 | 1 | null {
  let best: 0 | 1 | null = null
  for (const [filter, sub] of Object.entries(subscriptions)) {
    if (!sub || sub.qos > 2 || !topicMatches(filter, topic)) continue
    if (sub.qos >= 1) return 1
    best = 0
  }
  return best
}
