/**
 * The edge gateway: an aedes MQTT broker (TCP, TLS with client certificates, WebSocket) whose
 * `authorizePublish` hook is the ingestion point. A QoS 1 PUBACK is written by aedes only after that
 * hook's callback (aedes lib/handlers/publish.js), and the callback runs only after the event is
 * durable — acknowledged by Kafka with acks = all, or fsync'd into the outbox (DESIGN.md, "Delivery
 * guarantees"). Serial devices enter through {@link Gateway.ingestSerial} with the same rule.
 *
 * Constructors do no I/O; `start()` brings the parts up in order and `stop()` takes them down in
 * reverse, draining what devices were already promised (zigbee2mqtt's controller is the model).
 */
import { unwatchFile, watchFile } from 'node:fs'
import { join } from 'node:path'
import { deviceIdentityFromCertificate } from '@pedepronto/certs'
import { createRegistry, ensureTopics, type Logger, OpsServer, silentLogger } from '@pedepronto/common'
import {
  type Command,
  commandTopic,
  type DeviceIdentity,
  encodeCommand,
  KAFKA_TOPICS,
  parseCommand,
  type Transport,
  topicName,
} from '@pedepronto/contracts'
import { Aedes, type Client, type PublishPacket, type PubrelPacket, type Subscription } from 'aedes'
import type { Registry } from 'prom-client'
import {
  authorizePublishTopic,
  authorizeSubscribeFilter,
  type ConnectionIdentity,
  mayReceive,
  validClientId,
} from './broker/acl.js'
import { DenyList } from './broker/deny-list.js'
import {
  isLoopback,
  type Listener,
  listenMqtt,
  listenMqtts,
  listenWs,
  loadTlsMaterial,
  type TlsMaterial,
} from './broker/listeners.js'
import { TokensFile } from './broker/tokens.js'
import type { GatewayConfig } from './config.js'
import {
  AwaitingAck,
  CommandHold,
  type CommandTicket,
  deliveryQos,
  OffsetTracker,
  type PendingCommand,
} from './downlink.js'
import { GatewayError, type GatewayErrorCode } from './errors.js'
import { deadLetterRecord, type IngestContext, type IngestResult, ingest } from './ingest/ingest.js'
import { RateLimiter } from './ingest/rate-limit.js'
import { DurableWriter, type OutboxLike } from './kafka/durable-writer.js'
import { type BatchSender, KafkaBatchSender } from './kafka/sender.js'
import { type GatewayMetrics, gatewayMetrics } from './metrics.js'
import { Outbox } from './outbox/index.js'

export interface GatewayDeps {
  logger?: Logger
  registry?: Registry
  now?: () => number
  /** Injected in tests; by default kafkajs against `kafka.brokers`. */
  sender?: BatchSender
  /** Repository root, to resolve relative folders (outbox, certs). */
  baseDir?: string
}

export interface GatewayAddresses {
  mqtt?: string
  mqtts?: string
  ws?: string
  ops?: string
}

type AckOutcome = 'ack' | 'nack-busy' | 'nack-invalid'

/** What the serial bridge hands over, and gets back, for one EVENT frame. */
export interface SerialDelivery {
  identity: DeviceIdentity | null
  payload: Uint8Array
}

interface ClientState {
  identity: ConnectionIdentity
  transport: Transport
  subscriptions: Set<string>
}

export class Gateway {
  readonly config: GatewayConfig
  readonly metrics: GatewayMetrics
  readonly registry: Registry
  readonly #log: Logger
  readonly #now: () => number
  readonly #baseDir: string
  readonly #clients = new WeakMap<Client, ClientState>()
  readonly #online = new Map<string, Client>()
  readonly #serialDevices = new Map<string, (command: Command) => Promise<boolean>>()
  readonly #ctx: IngestContext
  readonly #limiter: RateLimiter
  readonly #hold: CommandHold
  /** Consumed commands not yet settled hold back the downlink's committed offset (downlink.ts). */
  readonly #offsets = new OffsetTracker()
  readonly #awaitingAck = new AwaitingAck<Client>()
  #stopDownlink: (() => Promise<void>) | undefined
  readonly #denyList: DenyList
  readonly #tokens: TokensFile | undefined
  #sender: BatchSender | undefined
  #outbox: Outbox | undefined
  #writer: DurableWriter | undefined
  #aedes: Aedes | undefined
  #listeners: Listener[] = []
  #ops: OpsServer | undefined
  #sweep: NodeJS.Timeout | undefined
  #stopping = false
  #injectedSender: BatchSender | undefined
  #topicsEnsured = false
  #unwatch: (() => void) | undefined

  constructor(config: GatewayConfig, deps: GatewayDeps = {}) {
    this.config = config
    this.#log = deps.logger ?? silentLogger()
    this.#now = deps.now ?? Date.now
    this.#baseDir = deps.baseDir ?? process.cwd()
    this.registry = deps.registry ?? createRegistry('gateway')
    this.metrics = gatewayMetrics(this.registry)
    this.#injectedSender = deps.sender
    this.#ctx = {
      gatewayId: config.gateway.id,
      topicPrefix: config.kafka.topicPrefix,
      maxPayloadBytes: config.gateway.maxPayloadBytes,
    }
    this.#limiter = new RateLimiter({
      ratePerS: config.gateway.rateLimitPerS,
      burst: config.gateway.rateLimitBurst,
      now: this.#now,
    })
    this.#hold = new CommandHold({ retentionMs: config.gateway.commandRetentionMs, now: this.#now })
    this.#denyList = new DenyList(this.#resolve(config.gateway.revokedFile), {
      onChange: (s) =>
        s.state === 'loaded'
          ? this.#log.info({ file: this.#denyList.path, devices: s.value.size }, 'deny-list read')
          : this.#log.warn(
              { file: this.#denyList.path },
              'deny-list file does not exist; no device is revoked by it',
            ),
      onError: (error) =>
        this.#log.error(
          { file: this.#denyList.path, error: error.message },
          'deny-list unreadable; keeping the ids read last',
        ),
    })
    this.#tokens = config.gateway.tokensFile
      ? new TokensFile(this.#resolve(config.gateway.tokensFile), {
          onChange: (s) => {
            const file = this.#tokens?.path
            if (s.state === 'absent') {
              this.#log.error({ file }, 'tokens file does not exist; every token login is refused')
              return
            }
            this.#log.info({ file, devices: s.value.hashes.size }, 'tokens file read')
            if (s.value.problems.length > 0)
              this.#log.warn(
                { file, problems: s.value.problems },
                'tokens file lines left out; their devices cannot log in with them',
              )
          },
          onError: (error) =>
            this.#log.error(
              { file: this.#tokens?.path, error: error.message },
              'tokens file unreadable; keeping the tokens read last',
            ),
        })
      : undefined
  }

  #resolve(path: string): string {
    if (!path) return ''
    return path.startsWith('/') ? path : join(this.#baseDir, path)
  }

  get writer(): DurableWriter | undefined {
    return this.#writer
  }

  get outbox(): OutboxLike | undefined {
    return this.#outbox
  }

  /**
   * The embedded aedes broker while it runs, for operations tooling and tests. A packet published
   * through it directly skips validation and the outbox, but still passes the forwarding fence
   * (authorizeForward) on its way to each client.
   */
  get broker(): Aedes | undefined {
    return this.#aedes
  }

  /** Ready: Kafka answered the last batch and the outbox is below its high-water mark (80 %). */
  ready(): boolean {
    if (!this.#writer || !this.#outbox || this.#stopping) return false
    const { bytes } = this.#outbox.stats()
    return this.#writer.kafkaHealthy && bytes < this.config.gateway.outboxMaxBytes * 0.8
  }

  async start(): Promise<GatewayAddresses> {
    const g = this.config.gateway
    if (g.profile === 'local' && !isLoopback(g.mqttHost)) {
      throw new GatewayError(
        'GW_LISTEN_FAILED',
        `the local profile serves plaintext MQTT on loopback only, not on ${g.mqttHost}`,
        {
          hint: 'use gateway.profile=production (TLS with client certificates) to serve a network',
        },
      )
    }
    // 0. The files consulted at every connect: a tokens file that is missing or has bad lines stops
    // the start with every problem listed, rather than refusing devices one by one later.
    this.#denyList.load()
    if (this.#tokens) {
      const tokens = this.#tokens.load()
      const problems =
        tokens.state === 'absent'
          ? ['the file does not exist']
          : tokens.value.problems.map((p) => `line ${p.line}: ${p.problem}`)
      if (problems.length > 0) {
        throw new GatewayError(
          'GW_TOKENS_FILE',
          `gateway.tokensFile ${this.#tokens.path}: ${problems.join('; ')}`,
          {
            hint: 'one "device_id sha256-hex" per line (printf %s "$TOKEN" | sha256sum), or leave gateway.tokensFile empty to turn token authentication off',
          },
        )
      }
    }
    // 1. Durable outbox: what an earlier run held goes first.
    this.#outbox = await Outbox.open({ dir: this.#resolve(g.outboxDir), maxBytes: g.outboxMaxBytes })
    this.#updateOutboxGauges()
    // 2. Kafka producer (the gateway starts even when Kafka is down: the outbox takes the load).
    this.#sender =
      this.#injectedSender ??
      new KafkaBatchSender({
        brokers: this.config.kafka.brokers,
        clientId: `${this.config.kafka.clientId}-gw-${g.id}`,
        compression: g.compression,
        connectionTimeoutMs: this.config.kafka.connectTimeoutMs,
        lanes: g.producerLanes,
      })
    await this.#connectKafka()
    this.#writer = new DurableWriter(
      this.#lazySender(),
      this.#outbox,
      {
        lanes: g.producerLanes,
        lingerMs: g.lingerMs,
        batchBytes: g.batchBytes,
        directTimeoutMs: g.directTimeoutMs,
        drainBatchRecords: 2_000,
        drainRetryMs: 1_000,
        now: this.#now,
      },
      {
        onBatch: (b) => {
          this.metrics.produceLatency.observe({ mode: b.mode }, b.ms / 1000)
          this.metrics.batchRecords.observe(b.records)
          this.#updateOutboxGauges()
        },
        onModeChange: (mode, reason) =>
          this.#log.warn({ mode, reason }, `durable writer now in ${mode} mode`),
        onDrain: (d) => {
          this.#updateOutboxGauges()
          if (!d.ok)
            this.#log.debug(
              { error: String(d.error) },
              'outbox drain attempt failed; Kafka still unreachable',
            )
        },
      },
    )
    this.#writer.start()
    // 3. The broker and its listeners.
    this.#aedes = await Aedes.createBroker({
      id: g.id,
      concurrency: 1_000,
      queueLimit: 100,
      drainTimeout: 30_000,
      connectTimeout: 10_000,
      maxClientsIdLength: 64,
      maxTopicLevels: 8,
      authenticate: (client, username, password, done) =>
        this.#authenticate(client, username, password, done),
      authorizePublish: (client, packet, callback) => this.#authorizePublish(client, packet, callback),
      authorizeSubscribe: (client, sub, callback) => this.#authorizeSubscribe(client, sub, callback),
      authorizeForward: (client, packet) => {
        const state = this.#clients.get(client)
        return state && mayReceive(state.identity, packet.topic) ? packet : null
      },
    })
    this.#aedes.on('clientReady', (client) => {
      const state = this.#clients.get(client)
      if (!state) return
      this.#online.set(state.identity.deviceId, client)
      this.metrics.connected.inc({ transport: state.transport })
      // A persistent session's subscriptions are restored before this event without a 'subscribe'
      // event (aedes handlers/connect.js restoreSubs), and the device need not subscribe again.
      if (!client.clean) void this.#flushHeld(state.identity.deviceId)
    })
    this.#aedes.on('clientDisconnect', (client) => {
      const state = this.#clients.get(client)
      if (!state) return
      const deviceId = state.identity.deviceId
      if (this.#online.get(deviceId) === client) this.#online.delete(deviceId)
      this.metrics.connected.dec({ transport: state.transport })
      // Written but not acknowledged: the device may never have seen them. They go back to the
      // front of the hold and out again when it reconnects (devices de-duplicate by command id).
      const unacked = this.#awaitingAck.disconnected(client)
      if (unacked.length > 0) {
        this.#holdPending(
          unacked.map((p) => ({ ...p, redelivery: true })),
          true,
        )
        if (this.#online.has(deviceId)) void this.#flushHeld(deviceId)
      }
    })
    // Emitted once aedes holds the subscription (lib/handlers/subscribe.js completeSubscribe), so
    // held commands delivered from here find it in client.subscriptions.
    this.#aedes.on('subscribe', (subs, client) => {
      const state = this.#clients.get(client)
      if (state && subs.some((s) => s.qos <= 2 && s.topic.includes('/cmd/')))
        void this.#flushHeld(state.identity.deviceId)
    })
    // The per-client subscription count must shrink again, or a device that unsubscribes and
    // subscribes in turn would reach the limit with a single live subscription. Emitted after aedes
    // dropped the subscriptions (lib/handlers/unsubscribe.js completeUnsubscribe).
    this.#aedes.on('unsubscribe', (topics, client) => {
      const state = this.#clients.get(client)
      if (state) for (const topic of topics) state.subscriptions.delete(topic)
    })
    this.#aedes.on('ack', (packet: PublishPacket | PubrelPacket | undefined, client) =>
      this.#onAck(packet, client),
    )
    const handle = this.#aedes.handle.bind(this.#aedes)
    const addresses: GatewayAddresses = {}
    let tls: TlsMaterial | undefined
    const certsDir = this.#resolve(g.certsDir || 'certs/out')
    if (g.brokerEnabled && g.profile === 'production') {
      tls = loadTlsMaterial(certsDir, g.serverCertName)
    }
    if (g.brokerEnabled && g.profile === 'local') {
      const l = await listenMqtt(handle, g.mqttHost, g.mqttPort)
      this.#listeners.push(l)
      addresses.mqtt = `mqtt://${l.host}:${l.port}`
    }
    const tlsRefused = (listener: string) => (error: Error & { code?: string }, remote?: string) => {
      this.metrics.aclDenied.inc({ what: 'tls-handshake' })
      this.#log.warn(
        { listener, remote, code: error.code, reason: error.message },
        'TLS handshake refused (no, foreign or revoked client certificate)',
      )
    }
    if (g.brokerEnabled && tls) {
      const l = await listenMqtts(handle, g.mqttsHost, g.mqttsPort, tls, tlsRefused('mqtts'))
      this.#listeners.push(l)
      addresses.mqtts = `mqtts://${l.host}:${l.port}`
    }
    if (g.brokerEnabled && (g.profile === 'production' || isLoopback(g.wsHost))) {
      const l = await listenWs(handle, g.wsHost, g.wsPort, tls, tlsRefused('wss'))
      this.#listeners.push(l)
      addresses.ws = `${tls ? 'wss' : 'ws'}://${l.host}:${l.port}`
    }
    if (tls) this.#watchCrl(certsDir)
    // 4. Downlink.
    await this.#startDownlink()
    this.#sweep = setInterval(() => {
      this.#expire(this.#hold.sweep())
      this.#expire(this.#awaitingAck.expire(this.#now()))
    }, 5_000)
    this.#sweep.unref()
    // 5. Operations endpoint.
    this.#ops = new OpsServer(this.registry, [
      { name: 'kafka', check: () => this.#writer?.kafkaHealthy ?? false },
      {
        name: 'outbox-below-high-water',
        check: () => (this.#outbox ? this.#outbox.stats().bytes < g.outboxMaxBytes * 0.8 : false),
      },
    ])
    const ops = await this.#ops.start(this.config.ops.host, this.config.ops.port)
    addresses.ops = `http://${ops.host}:${ops.port}`
    this.#log.info({ addresses, profile: g.profile, gatewayId: g.id }, 'gateway started')
    return addresses
  }

  /** A revoke re-signs ca/crl.pem; new handshakes use it without a restart. */
  #watchCrl(certsDir: string): void {
    const crl = join(certsDir, 'ca', 'crl.pem')
    watchFile(crl, { interval: 1_000 }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs) return
      try {
        const material = loadTlsMaterial(certsDir, this.config.gateway.serverCertName)
        for (const l of this.#listeners) l.reload(material)
        this.#log.info({ crl }, 'CRL reloaded')
      } catch (error) {
        this.#log.error(
          { crl, error: (error as Error).message },
          'CRL reload failed; keeping the previous one',
        )
      }
    })
    this.#unwatch = () => unwatchFile(crl)
  }

  async #connectKafka(): Promise<boolean> {
    try {
      await this.#sender?.connect()
      await this.#ensureTopics()
      return true
    } catch (error) {
      this.#log.warn(
        { error: (error as Error).message },
        'Kafka is unreachable at start; accepting into the outbox',
      )
      return false
    }
  }

  async #ensureTopics(): Promise<void> {
    if (this.#topicsEnsured || !(this.#sender instanceof KafkaBatchSender)) return
    const admin = this.#sender.admin()
    await admin.connect()
    try {
      await ensureTopics(admin, { prefix: this.config.kafka.topicPrefix })
      this.#topicsEnsured = true
    } finally {
      await admin.disconnect()
    }
  }

  /** A sender that (re)connects on first use, so a gateway started while Kafka was down recovers. */
  #lazySender(): BatchSender {
    const inner = this.#sender as BatchSender
    // One connect shared by the lanes: batches of several lanes may find Kafka unconnected at once.
    let connecting: Promise<void> | undefined
    const ensure = (): Promise<void> => {
      connecting ??= (async () => {
        await inner.connect()
        await this.#ensureTopics()
      })().catch((error: unknown) => {
        connecting = undefined
        throw error
      })
      return connecting
    }
    return {
      connect: ensure,
      sendBatch: async (records, lane) => {
        await ensure()
        await inner.sendBatch(records, lane)
      },
      close: () => inner.close(),
    }
  }

  #updateOutboxGauges(): void {
    if (!this.#outbox) return
    const s = this.#outbox.stats()
    this.metrics.outboxDepth.set(s.depth)
    this.metrics.outboxBytes.set(s.bytes)
  }

  #transportOf(client: Client): Transport {
    const conn = client.conn as unknown as { getPeerCertificate?: unknown; encrypted?: boolean }
    if (client.req) return 'ws'
    return typeof conn.getPeerCertificate === 'function' ? 'mqtts' : 'mqtt'
  }

  #peerCertificate(
    client: Client,
  ): { subject?: { CN?: string; OU?: string }; subjectaltname?: string } | null {
    const socket = (client.req?.socket ?? client.conn) as unknown as {
      getPeerCertificate?: () => { subject?: { CN?: string; OU?: string }; subjectaltname?: string } | null
      authorized?: boolean
    }
    if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return null
    const cert = socket.getPeerCertificate()
    return cert && Object.keys(cert).length > 0 ? cert : null
  }

  /**
   * CONNECT (MQTT 3.1.1 §3.1). A refusal is a CONNACK with a return code (§3.2.2.3) — 2 identifier
   * rejected, 3 server unavailable, 4 bad user name or password, 5 not authorized — after which
   * aedes closes the connection (MQTT-3.2.2-5).
   */
  #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: (Error & { returnCode: number }) | null, success: boolean | null) => void,
  ): void {
    const refuse = (returnCode: number, code: GatewayErrorCode, what: string, reason: string) => {
      this.metrics.aclDenied.inc({ what })
      // Never the user name or password: a device may have put its token in either.
      this.#log.warn({ clientId: client.id, returnCode, reason }, 'connection refused')
      done(Object.assign(new GatewayError(code, reason), { returnCode }), false)
    }
    if (this.#stopping) return refuse(3, 'GW_STOPPING', 'stopping', 'the gateway is stopping')
    // A device taking over its own session (§3.1.4-2) does not add a connection.
    if (
      (this.#aedes?.connectedClients ?? 0) >= this.config.gateway.maxConnections &&
      !this.#online.has(client.id)
    ) {
      return refuse(
        3,
        'GW_CONNECTION_LIMIT',
        'connection-limit',
        `connection limit ${this.config.gateway.maxConnections} reached`,
      )
    }
    const transport = this.#transportOf(client)
    let identity: ConnectionIdentity
    const cert = this.#peerCertificate(client)
    if (cert) {
      const fromCert = deviceIdentityFromCertificate(cert)
      if (!fromCert)
        return refuse(5, 'GW_AUTH_FAILED', 'certificate', 'the client certificate carries no device identity')
      if (client.id !== fromCert.deviceId) {
        return refuse(
          2,
          'GW_AUTH_FAILED',
          'client-id',
          `client id ${JSON.stringify(client.id)} is not the certificate's device ${fromCert.deviceId}`,
        )
      }
      // The certificate is the identity; a user name or password sent along is not looked at.
      identity = { deviceId: fromCert.deviceId, restaurantId: fromCert.restaurantId, source: 'certificate' }
    } else if (this.config.gateway.profile === 'production') {
      return refuse(5, 'GW_AUTH_FAILED', 'certificate', 'a client certificate from our CA is required')
    } else {
      if (!validClientId(client.id))
        return refuse(
          2,
          'GW_AUTH_FAILED',
          'client-id',
          `client id ${JSON.stringify(client.id)} is not a device id`,
        )
      if (this.#tokens) {
        const refusal = this.#checkToken(client.id, username, password)
        if (refusal) return refuse(refusal.returnCode, 'GW_AUTH_FAILED', 'token', refusal.reason)
        identity = { deviceId: client.id, restaurantId: null, source: 'token' }
      } else {
        identity = { deviceId: client.id, restaurantId: null, source: 'client-id' }
      }
    }
    if (this.#denyList.has(identity.deviceId))
      return refuse(5, 'GW_REVOKED', 'revoked', `device ${identity.deviceId} is revoked`)
    this.#clients.set(client, { identity, transport, subscriptions: new Set() })
    done(null, true)
  }

  /** Why a user name and token are refused, or null when they are the device's. */
  #checkToken(
    deviceId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): { returnCode: number; reason: string } | null {
    // §3.1.2.9: a password comes only with a user name. Anonymous is not authorized (5); credentials
    // that are there but wrong are a bad user name or password (4).
    if (username === undefined || password === undefined)
      return { returnCode: 5, reason: 'a user name and token are required (gateway.tokensFile is set)' }
    if (username !== deviceId) return { returnCode: 4, reason: 'the user name is not the client id' }
    switch (this.#tokens?.check(deviceId, password)) {
      case 'ok':
        return null
      case 'unknown-device':
        return { returnCode: 4, reason: `no token is listed for device ${deviceId}` }
      case 'wrong-token':
        return { returnCode: 4, reason: `wrong token for device ${deviceId}` }
      default:
        // The file went away: nothing can be checked. Server unavailable, so the device retries.
        return { returnCode: 3, reason: 'the tokens file is missing; no token can be checked' }
    }
  }

  #violation(client: Client, what: string, reason: string, code: GatewayErrorCode = 'GW_ACL_DENIED'): Error {
    this.metrics.aclDenied.inc({ what })
    this.#log.warn({ clientId: client?.id, reason }, `ACL violation (${what}); disconnecting`)
    return new GatewayError(code, reason)
  }

  #authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
  ): void {
    // The broker itself (client null: wills of vanished sessions) never publishes into the pipeline.
    if (!client) return callback(new Error('no anonymous publishing'))
    const state = this.#clients.get(client)
    if (!state) return callback(this.#violation(client, 'unauthenticated', 'publish before authentication'))
    const acl = authorizePublishTopic(state.identity, packet.topic)
    if (!acl.allowed) return callback(this.#violation(client, 'publish', acl.reason))
    this.metrics.messagesIn.inc({ transport: state.transport })
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    const identity = {
      deviceId: state.identity.deviceId,
      restaurantId: state.identity.restaurantId as string,
    }
    const result = this.#ingestOne(packet.topic, payload, state.transport, identity)
    this.#persist(result, state.transport).then(
      () => callback(null),
      (error: unknown) => {
        // Not durable: withhold the PUBACK. Disconnecting makes the device keep the message and
        // retransmit it after reconnecting (MQTT 3.1.1 §4.4) — never a silent drop.
        this.#log.warn(
          { deviceId: identity.deviceId, error: (error as Error).message },
          'could not make durable; withholding PUBACK',
        )
        callback(error as Error)
      },
    )
  }

  #ingestOne(
    mqttTopic: string | null,
    payload: Uint8Array,
    transport: Transport,
    identity: DeviceIdentity | null,
  ): IngestResult {
    const msg = { mqttTopic, payload, transport, receivedAt: this.#now(), identity }
    if (identity && !this.#limiter.take(identity.deviceId)) {
      return deadLetterRecord(
        this.#ctx,
        msg,
        'rate_limited',
        `more than ${this.config.gateway.rateLimitPerS}/s sustained (burst ${this.config.gateway.rateLimitBurst})`,
      )
    }
    return ingest(this.#ctx, msg)
  }

  async #persist(result: IngestResult, transport: Transport): Promise<void> {
    if (!this.#writer) throw new GatewayError('GW_STOPPING', 'the gateway is not running')
    if (result.kind === 'dead-letter') {
      this.metrics.rejected.inc({ reason: result.reason })
      this.#log.info({ reason: result.reason, detail: result.detail }, 'message dead-lettered')
    }
    await this.#writer.write(result.record)
    if (result.kind === 'event') this.metrics.eventsOut.inc({ transport })
  }

  /**
   * One EVENT frame from a serial device: resolves 'ack' once durable (then the bridge sends the ACK
   * frame), 'nack-busy' when it could not be made durable (the device retransmits), and
   * 'nack-invalid' never — an invalid payload is dead-lettered durably and acknowledged, so the
   * device does not retransmit it forever.
   */
  async ingestSerial(delivery: SerialDelivery): Promise<AckOutcome> {
    this.metrics.messagesIn.inc({ transport: 'serial' })
    const result = this.#ingestOne(null, delivery.payload, 'serial', delivery.identity)
    try {
      await this.#persist(result, 'serial')
      return 'ack'
    } catch {
      return 'nack-busy'
    }
  }

  /** A serial bridge registers the devices it has seen so that commands reach them. */
  registerSerialDevice(deviceId: string, deliver: ((command: Command) => Promise<boolean>) | null): void {
    if (deliver) {
      this.#serialDevices.set(deviceId, deliver)
      void this.#flushHeld(deviceId)
    } else {
      this.#serialDevices.delete(deviceId)
    }
  }

  recordSerialFrameError(reason: string): void {
    this.metrics.serialFrameErrors.inc({ reason })
  }

  #authorizeSubscribe(
    client: Client,
    sub: Subscription,
    callback: (error: Error | null, sub?: Subscription | null) => void,
  ): void {
    const state = this.#clients.get(client)
    if (!state) return callback(this.#violation(client, 'unauthenticated', 'subscribe before authentication'))
    const acl = authorizeSubscribeFilter(state.identity, sub.topic)
    if (!acl.allowed) return callback(this.#violation(client, 'subscribe', acl.reason))
    if (
      !state.subscriptions.has(sub.topic) &&
      state.subscriptions.size >= this.config.gateway.maxSubscriptionsPerClient
    ) {
      return callback(
        this.#violation(
          client,
          'subscription-limit',
          `more than ${this.config.gateway.maxSubscriptionsPerClient} subscriptions`,
          'GW_SUBSCRIPTION_LIMIT',
        ),
      )
    }
    state.subscriptions.add(sub.topic)
    callback(null, sub)
  }

  async #startDownlink(): Promise<void> {
    const sender = this.#sender
    if (!(sender instanceof KafkaBatchSender)) return
    const topic = topicName(KAFKA_TOPICS.commands.name, this.config.kafka.topicPrefix)
    // Supervised: a consumer that fails to join (Kafka down or its coordinator still loading after a
    // broker restart) or crashes for good is replaced after a pause, for as long as the gateway
    // runs — otherwise one broker outage would silence every pager until the next restart.
    const start = async (attempt: number): Promise<void> => {
      if (this.#stopping) return
      const consumer = sender.kafka.consumer({
        // Every gateway sees every command and delivers those for its own devices.
        groupId: `${this.config.kafka.clientId}-gw-${this.config.gateway.id}-downlink`,
        // A restarted gateway joins under a new member id and its group waits for the dead one's
        // session to lapse before assigning anything: no page goes out until then. 6 s is the
        // broker's smallest allowed (group.min.session.timeout.ms); heartbeats go every second.
        sessionTimeout: 6_000,
        heartbeatInterval: 1_000,
        retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5_000 },
      })
      // Offsets are committed by hand, never past a command that is still unsettled (downlink.ts):
      // a command held for an offline device, or written but not yet PUBACKed, is consumed again
      // after a crash instead of being lost behind an offset committed on consumption.
      const committed = new Map<string, bigint>()
      let committing: Promise<void> | undefined
      const commit = (): Promise<void> => {
        committing ??= (async () => {
          const offsets: { topic: string; partition: number; offset: string; next: bigint }[] = []
          for (const tp of this.#offsets.partitions()) {
            const next = this.#offsets.committable(tp)
            const last = committed.get(`${tp.topic}:${tp.partition}`)
            if (next === undefined || (last !== undefined && next <= last)) continue
            offsets.push({ topic: tp.topic, partition: tp.partition, offset: next.toString(), next })
          }
          if (offsets.length === 0) return
          try {
            await consumer.commitOffsets(
              offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
            )
            for (const o of offsets) committed.set(`${o.topic}:${o.partition}`, o.next)
            this.metrics.downlinkCommits.inc({ outcome: 'ok' })
          } catch (error) {
            // Not joined yet, or Kafka away: the next tick commits what is committable then.
            this.metrics.downlinkCommits.inc({ outcome: 'failed' })
            this.#log.debug({ error: (error as Error).message }, 'downlink offset commit failed')
          }
        })().finally(() => {
          committing = undefined
        })
        return committing
      }
      const timer = setInterval(() => void commit(), 1_000)
      timer.unref()
      this.#stopDownlink = async () => {
        clearInterval(timer)
        // The last commit of a graceful stop, bounded: a consumer retrying against a Kafka that is
        // away must not hold the stop up (what it would have committed is consumed again).
        const last = (async () => {
          await committing
          await commit()
        })()
        await Promise.race([last, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
        await consumer.disconnect().catch(() => undefined)
      }
      // Each (re)join reads every assigned partition from its committed offset again, so what the
      // tracker knew is consumed again: start it afresh (settling stays right — it is by offset).
      consumer.on(consumer.events.GROUP_JOIN, () => {
        this.#offsets.reset()
        committed.clear()
        this.#updateUnsettled()
      })
      let replaced = false
      const replace = (error: unknown) => {
        if (replaced || this.#stopping) return
        replaced = true
        clearInterval(timer)
        this.metrics.downlinkRestarts.inc()
        const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5))
        this.#log.warn(
          { error: (error as Error).message, retryInMs: delay },
          'downlink consumer stopped; starting a new one',
        )
        void consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => {
            const timer = setTimeout(() => void start(attempt + 1), delay)
            timer.unref()
          })
      }
      // kafkajs restarts a consumer itself after a retriable crash; the others are ours to handle.
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) replace(e.payload.error)
      })
      try {
        await consumer.connect()
        // A new group starts at the beginning: expired commands are dropped by their expires_at, and
        // a command produced while the group was still joining is not skipped.
        await consumer.subscribe({ topic, fromBeginning: true })
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic: from, partition, message }) => {
            const ticket: CommandTicket = { topic: from, partition, offset: BigInt(message.offset) }
            this.#offsets.track(ticket, ticket.offset)
            this.#updateUnsettled()
            const parsed = parseCommand(message.value ?? new Uint8Array())
            if (!parsed.ok) {
              this.#log.warn(
                { errors: parsed.errors.slice(0, 3), partition, offset: message.offset },
                'invalid command on the commands topic; skipped',
              )
              this.metrics.commandsInvalid.inc()
              this.#settle([ticket])
              return
            }
            await this.deliverCommand(parsed.value, ticket)
          },
        })
      } catch (error) {
        replace(error)
      }
    }
    // Kafka may be down at start; the consumer joins when it can without holding up the broker.
    void start(0)
  }

  /**
   * Delivers a command now if its device can take it, otherwise holds it for a bounded time. With
   * the `ticket` of the record it was consumed from, that offset is not committed until the device
   * acknowledged the command (or it expired, or the hold dropped it).
   */
  async deliverCommand(command: Command, ticket?: CommandTicket): Promise<'delivered' | 'held' | 'expired'> {
    const pending: PendingCommand = { command, tickets: ticket ? [ticket] : [], redelivery: false }
    if (command.expires_at <= this.#now()) {
      this.#expire([pending])
      return 'expired'
    }
    if (await this.#deliverNow(pending)) return 'delivered'
    this.#holdPending([pending], false)
    return 'held'
  }

  /**
   * Hands a command to its device if it can take it now: true when done with (serial: the board
   * answered; MQTT QoS 0: written) or written at QoS 1 and awaiting its PUBACK; false to hold it.
   */
  async #deliverNow(pending: PendingCommand): Promise<boolean> {
    const { command } = pending
    const serial = this.#serialDevices.get(command.device_id)
    if (serial) {
      // true once the board answered the COMMAND frame — ACK, or CONFIG_ACK/NACK (a refusal that
      // sending again would not change); false after the bridge's retransmissions went unanswered
      // or the line went away (serial/bridge.ts sendCommand).
      const ok = await serial(command).catch(() => false)
      if (!ok) return false
      this.#written(pending, 'serial')
      this.#acknowledged(pending, 'serial')
      return true
    }
    const client = this.#online.get(command.device_id)
    const state = client ? this.#clients.get(client) : undefined
    if (!client || !state || !client.connected) return false
    const topic = commandTopic(command.restaurant_id, command.device_id, command.type)
    // The ACL's second fence (authorizeForward) would drop it silently; held, it may still reach the
    // device it is for (another connection with the right restaurant).
    if (!mayReceive(state.identity, topic)) return false
    // What aedes holds, not what was authorized: authorizeSubscribe runs before aedes registers the
    // subscription (lib/handlers/subscribe.js addSubs), and a command sent in between went nowhere.
    // Once registered, a PUBLISH may precede the SUBACK (MQTT 3.1.1 §3.8.4).
    const subscriptions =
      (client as unknown as { subscriptions?: Record<string, { qos: number } | undefined> }).subscriptions ??
      {}
    const qos = deliveryQos(subscriptions, topic)
    if (qos === null) return false
    // Queued before the write, so its PUBACK cannot be read before it is awaited.
    if (qos === 1) this.#awaitingAck.written(client, pending, this.#giveUpAt(command))
    // Straight to this client, not through the broker's fan-out: one write, at the QoS chosen here.
    const connected = await new Promise<boolean>((resolve) =>
      client.publish(
        {
          cmd: 'publish',
          topic,
          payload: Buffer.from(encodeCommand(command)),
          qos,
          retain: false,
          dup: false,
        },
        // aedes reports write errors on the client ('error', then close), never here.
        () => resolve(client.connected),
      ),
    )
    if (qos === 1) {
      // A connection that died meanwhile gave the command back to the hold ('clientDisconnect').
      if (connected) this.#written(pending, state.transport)
      return true
    }
    // QoS 0 has no acknowledgement (MQTT 3.1.1 §4.3.1): the device chose at most once.
    if (!connected) return false
    this.#written(pending, state.transport)
    this.#acknowledged(pending, state.transport)
    return true
  }

  /** When a command not yet acknowledged is given up: its expiry, or the hold's retention. */
  #giveUpAt(command: Command): number {
    return Math.min(command.expires_at, this.#now() + this.config.gateway.commandRetentionMs)
  }

  #written(pending: PendingCommand, transport: Transport): void {
    this.metrics.commandsDelivered.inc({ transport })
    if (pending.redelivery) this.metrics.commandsRedelivered.inc()
  }

  /** A PUBACK from a device (aedes 'ack', lib/handlers/puback.js). */
  #onAck(packet: PublishPacket | PubrelPacket | undefined, client: Client): void {
    const state = this.#clients.get(client)
    if (!state) return
    let pending: PendingCommand | undefined
    if (client.clean) {
      // A clean session keeps no outgoing packets in aedes' memory persistence, so `packet` is
      // undefined (aedes-persistence outgoingClearMessageId); §4.6 order says which command it is.
      pending = this.#awaitingAck.acked(client)
    } else {
      // A persistent session: aedes returns the packet it stored — possibly one it sent again from
      // the session at reconnect (handlers/connect.js emptyQueue) while our copy sat in the hold.
      const parsed = packet?.cmd === 'publish' ? parseCommand(packet.payload) : undefined
      if (!parsed?.ok) return
      const id = parsed.value.command_id
      pending = this.#awaitingAck.ackedById(client, id) ?? this.#hold.remove(state.identity.deviceId, id)
    }
    if (pending) this.#acknowledged(pending, state.transport)
  }

  #acknowledged(pending: PendingCommand, transport: Transport): void {
    this.metrics.commandsAcknowledged.inc({ transport })
    this.#settle(pending.tickets)
  }

  #settle(tickets: readonly CommandTicket[]): void {
    for (const t of tickets) this.#offsets.settle(t, t.offset)
    this.#updateUnsettled()
  }

  #expire(expired: readonly PendingCommand[]): void {
    if (expired.length === 0) return
    this.metrics.commandsExpired.inc(expired.length)
    this.#settle(expired.flatMap((p) => p.tickets))
  }

  #holdPending(pending: readonly PendingCommand[], front: boolean): void {
    const dropped = this.#hold.hold(pending, { front })
    if (dropped.length === 0) return
    // The per-device bound is the policy that keeps the hold (and the uncommitted span) bounded.
    this.metrics.commandsDropped.inc(dropped.length)
    this.#log.warn(
      { deviceId: dropped[0]?.command.device_id, dropped: dropped.length },
      'command hold full; oldest commands dropped',
    )
    this.#settle(dropped.flatMap((p) => p.tickets))
  }

  #updateUnsettled(): void {
    this.metrics.commandsUnsettled.set(this.#offsets.unsettled)
  }

  async #flushHeld(deviceId: string): Promise<void> {
    const { commands, expired } = this.#hold.take(deviceId)
    this.#expire(expired)
    for (const [i, pending] of commands.entries()) {
      if (!(await this.#deliverNow(pending))) {
        // Gone again: the rest wait, in order, ahead of anything held meanwhile.
        this.#holdPending(commands.slice(i), true)
        return
      }
    }
  }

  /** Graceful stop: refuse new connections, make what was received durable, then close in reverse. */
  async stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    if (this.#sweep) clearInterval(this.#sweep)
    this.#unwatch?.()
    await Promise.all(this.#listeners.map((l) => l.close().catch(() => undefined)))
    this.#listeners = []
    await this.#writer?.stop()
    await new Promise<void>((resolve) => (this.#aedes ? this.#aedes.close(() => resolve()) : resolve()))
    await this.#stopDownlink?.()
    await this.#sender?.close().catch(() => undefined)
    await this.#outbox?.close()
    await this.#ops?.stop()
    this.#log.info('gateway stopped')
  }
}
