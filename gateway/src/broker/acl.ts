/**
 * Who a connection is, and what it may do. The decision is made from the topic alone (contracts'
 * `mayPublish`/`maySubscribe`), so it is the same for every listener.
 *
 * - production (TLS): the identity is the client certificate's device and restaurant; the MQTT
 *   client id must equal the device id.
 * - local (plaintext, loopback only): the client id is the device id; the restaurant is pinned by
 *   the first topic the client publishes or subscribes on, and any other restaurant later is a
 *   violation. Good for development and simulators, never exposed beyond 127.0.0.1.
 */
import {
  type AclDecision,
  type DeviceIdentity,
  ID_REGEX,
  mayPublish,
  maySubscribe,
  parseTopic,
} from '@pedepronto/contracts'

export interface ConnectionIdentity {
  deviceId: string
  /** null until pinned (local profile). */
  restaurantId: string | null
  /** How the identity was established. */
  source: 'certificate' | 'client-id' | 'token'
}

export function validClientId(clientId: string): boolean {
  return ID_REGEX.test(clientId)
}

/** Pins the restaurant for a local-profile identity from a topic, or explains why not. */
function pinned(
  identity: ConnectionIdentity,
  topicOrFilter: string,
): { ok: true; identity: DeviceIdentity } | { ok: false; reason: string } {
  if (identity.restaurantId !== null)
    return { ok: true, identity: { deviceId: identity.deviceId, restaurantId: identity.restaurantId } }
  const levels = topicOrFilter.split('/')
  // pp/v1/{restaurant}/{device}/…
  const restaurant = levels[2]
  if (levels[0] !== 'pp' || levels[1] !== 'v1' || restaurant === undefined || !ID_REGEX.test(restaurant)) {
    return {
      ok: false,
      reason: `topic ${JSON.stringify(topicOrFilter)} is not under pp/v1/{restaurant}/{device}/`,
    }
  }
  identity.restaurantId = restaurant
  return { ok: true, identity: { deviceId: identity.deviceId, restaurantId: restaurant } }
}

export function authorizePublishTopic(identity: ConnectionIdentity, topic: string): AclDecision {
  const p = pinned(identity, topic)
  if (!p.ok) return { allowed: false, reason: p.reason }
  return mayPublish(p.identity, topic)
}

export function authorizeSubscribeFilter(identity: ConnectionIdentity, filter: string): AclDecision {
  const p = pinned(identity, filter)
  if (!p.ok) return { allowed: false, reason: p.reason }
  return maySubscribe(p.identity, filter)
}

/** The second fence: a packet reaches a device only on that device's own command topic. */
export function mayReceive(identity: ConnectionIdentity, topic: string): boolean {
  const parsed = parseTopic(topic)
  return (
    parsed.ok &&
    parsed.kind === 'cmd' &&
    parsed.deviceId === identity.deviceId &&
    (identity.restaurantId === null || parsed.restaurantId === identity.restaurantId)
  )
}
