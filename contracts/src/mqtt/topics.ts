// MQTT topic scheme. Restaurant and device are topic levels, so the broker decides every publish and
// subscribe from the topic string and the client's identity alone (DESIGN.md "Contracts"):
//   uplink   pp/v1/{restaurant_id}/{device_id}/evt/{event_type}
//   downlink pp/v1/{restaurant_id}/{device_id}/cmd/{command_type}
import { COMMAND_TYPES, type CommandType } from '../events/commands.js'
import { ID_REGEX, MQTT_TOPIC_MAX_LENGTH } from '../events/common.js'
import { EVENT_TYPES, type EventType } from '../events/schemas.js'

export const MQTT_TOPIC_PREFIX = 'pp'
export const MQTT_TOPIC_VERSION = 'v1'
const LEVELS = 6

export type TopicKind = 'evt' | 'cmd'

export interface DeviceIdentity {
  restaurantId: string
  deviceId: string
}

export type ParsedTopic =
  | { ok: true; kind: 'evt'; restaurantId: string; deviceId: string; type: EventType }
  | { ok: true; kind: 'cmd'; restaurantId: string; deviceId: string; type: CommandType }

export type TopicParseResult = ParsedTopic | { ok: false; reason: string }

export type AclDecision = { allowed: true } | { allowed: false; reason: string }

const ALLOWED: AclDecision = { allowed: true }
const deny = (reason: string): AclDecision => ({ allowed: false, reason })

function assertId(name: string, value: string): void {
  if (!ID_REGEX.test(value)) {
    throw new RangeError(`${name} ${JSON.stringify(value)} does not match ^[a-z0-9][a-z0-9_-]{0,63}$`)
  }
}

function deviceRoot(restaurantId: string, deviceId: string): string {
  assertId('restaurantId', restaurantId)
  assertId('deviceId', deviceId)
  return `${MQTT_TOPIC_PREFIX}/${MQTT_TOPIC_VERSION}/${restaurantId}/${deviceId}`
}

/** Throws RangeError on an invalid id: a topic built from it would be ambiguous or unroutable. */
export function eventTopic(restaurantId: string, deviceId: string, type: EventType): string {
  if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new RangeError(`unknown event type ${type}`)
  return `${deviceRoot(restaurantId, deviceId)}/evt/${type}`
}

export function commandTopic(restaurantId: string, deviceId: string, type: CommandType): string {
  if (!(COMMAND_TYPES as readonly string[]).includes(type)) {
    throw new RangeError(`unknown command type ${type}`)
  }
  return `${deviceRoot(restaurantId, deviceId)}/cmd/${type}`
}

/** The filter a device subscribes to for all of its commands ('+' = one level, MQTT 3.1.1 §4.7.1.3). */
export function commandSubscription(restaurantId: string, deviceId: string): string {
  return `${deviceRoot(restaurantId, deviceId)}/cmd/+`
}

/** Parses a topic *name* (what a PUBLISH carries), never a filter. */
export function parseTopic(topic: string): TopicParseResult {
  if (typeof topic !== 'string' || topic.length === 0) {
    // §4.7.3: topic names are at least one character long.
    return { ok: false, reason: 'empty topic' }
  }
  if (topic.length > MQTT_TOPIC_MAX_LENGTH) return { ok: false, reason: 'topic longer than 65535 characters' }
  if (topic.includes('\u0000')) return { ok: false, reason: 'topic contains U+0000 (MQTT 3.1.1 §4.7.3)' }
  if (topic.startsWith('$')) {
    // §4.7.2: '$' topics ($SYS/...) belong to the server; no device event lives there.
    return { ok: false, reason: 'topics starting with $ are reserved for the broker (MQTT 3.1.1 §4.7.2)' }
  }
  if (topic.includes('+') || topic.includes('#')) {
    // §4.7.1: wildcards may appear in filters only, never in the name of a published message.
    return { ok: false, reason: 'wildcards + and # are not allowed in a topic name (MQTT 3.1.1 §4.7.1)' }
  }
  const levels = topic.split('/')
  // §4.7.1.1 allows empty levels in MQTT, but in this scheme they would only hide a missing id.
  const empty = levels.indexOf('')
  if (empty !== -1) return { ok: false, reason: `empty topic level at position ${empty}` }
  if (levels[0] !== MQTT_TOPIC_PREFIX) {
    return { ok: false, reason: `topic must start with ${MQTT_TOPIC_PREFIX}/` }
  }
  if (levels.length > 1 && levels[1] !== MQTT_TOPIC_VERSION) {
    return { ok: false, reason: `unsupported topic version ${JSON.stringify(levels[1])}, expected v1` }
  }
  if (levels.length !== LEVELS) {
    return { ok: false, reason: `expected ${LEVELS} levels pp/v1/{restaurant}/{device}/{evt|cmd}/{type}` }
  }
  const [, , restaurantId = '', deviceId = '', kind, type = ''] = levels
  if (!ID_REGEX.test(restaurantId)) {
    return { ok: false, reason: 'restaurant id does not match the id pattern' }
  }
  if (!ID_REGEX.test(deviceId)) {
    return { ok: false, reason: 'device id does not match the id pattern' }
  }
  if (kind === 'evt') {
    return (EVENT_TYPES as readonly string[]).includes(type)
      ? { ok: true, kind, restaurantId, deviceId, type: type as EventType }
      : { ok: false, reason: `unknown event type ${JSON.stringify(type)}` }
  }
  if (kind === 'cmd') {
    return (COMMAND_TYPES as readonly string[]).includes(type)
      ? { ok: true, kind, restaurantId, deviceId, type: type as CommandType }
      : { ok: false, reason: `unknown command type ${JSON.stringify(type)}` }
  }
  return { ok: false, reason: `unknown topic kind ${JSON.stringify(kind)}, expected evt or cmd` }
}

/**
 * Whether a device may PUBLISH on `topic`: only events, only under its own restaurant and device id.
 * Commands are published by the gateway itself, never by a device.
 */
export function mayPublish(identity: DeviceIdentity, topic: string): AclDecision {
  const parsed = parseTopic(topic)
  if (!parsed.ok) return deny(parsed.reason)
  if (parsed.kind !== 'evt') return deny('devices may publish events only, not on cmd topics')
  if (parsed.restaurantId !== identity.restaurantId || parsed.deviceId !== identity.deviceId) {
    return deny(`topic belongs to ${parsed.restaurantId}/${parsed.deviceId}, not to this device`)
  }
  return ALLOWED
}

/** Syntax of a topic filter per MQTT 3.1.1 §4.7.1.2 and §4.7.1.3; returns the problem or null. */
export function topicFilterError(filter: string): string | null {
  if (typeof filter !== 'string' || filter.length === 0) return 'empty topic filter'
  if (filter.length > MQTT_TOPIC_MAX_LENGTH) return 'topic filter longer than 65535 characters'
  if (filter.includes('\u0000')) return 'topic filter contains U+0000 (MQTT 3.1.1 §4.7.3)'
  const levels = filter.split('/')
  for (const [i, level] of levels.entries()) {
    // §4.7.1.2: '#' must be the whole last level. §4.7.1.3: '+' must be a whole level.
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return "'#' must be the last level on its own (MQTT 3.1.1 §4.7.1.2)"
    }
    if (level.includes('+') && level !== '+') return "'+' must occupy a whole level (MQTT 3.1.1 §4.7.1.3)"
  }
  return null
}

/**
 * Whether a device may SUBSCRIBE with `filter`: its own command topic, exact, or with a single
 * trailing wildcard after `cmd/`. Anything else could match another device's traffic or its own
 * uplink, so it is refused.
 */
export function maySubscribe(identity: DeviceIdentity, filter: string): AclDecision {
  const syntax = topicFilterError(filter)
  if (syntax !== null) return deny(syntax)
  if (filter.startsWith('$')) {
    // §4.7.2: $SYS/# and (MQTT 5) $share/... are broker-level; a device has no business there.
    return deny('topic filters starting with $ are reserved for the broker (MQTT 3.1.1 §4.7.2)')
  }
  if (!ID_REGEX.test(identity.restaurantId) || !ID_REGEX.test(identity.deviceId)) {
    return deny('identity ids do not match the id pattern')
  }
  const ownCommands = `${MQTT_TOPIC_PREFIX}/${MQTT_TOPIC_VERSION}/${identity.restaurantId}/${identity.deviceId}/cmd/`
  // '.../cmd/#' also matches '.../cmd' itself (§4.7.1.2), which nobody may publish to, so it is safe.
  if (filter === `${ownCommands}+` || filter === `${ownCommands}#`) return ALLOWED
  if (filter.includes('+') || filter.includes('#')) {
    return deny('wildcards are allowed only as the last level of the own command topic (…/cmd/+ or …/cmd/#)')
  }
  const parsed = parseTopic(filter)
  if (!parsed.ok) return deny(parsed.reason)
  if (parsed.kind !== 'cmd') return deny('devices may subscribe to command topics only')
  if (parsed.restaurantId !== identity.restaurantId || parsed.deviceId !== identity.deviceId) {
    return deny(`topic belongs to ${parsed.restaurantId}/${parsed.deviceId}, not to this device`)
  }
  return ALLOWED
}

/**
 * Whether an event's envelope agrees with the topic it arrived on; a mismatch is a dead letter with
 * reason `topic_mismatch`, because the ACL was decided on the topic and must also hold for the body.
 */
export function eventMatchesTopic(
  topic: ParsedTopic,
  event: { type: string; restaurant_id: string; device_id: string },
): boolean {
  return (
    topic.kind === 'evt' &&
    topic.type === event.type &&
    topic.restaurantId === event.restaurant_id &&
    topic.deviceId === event.device_id
  )
}
