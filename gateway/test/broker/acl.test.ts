import { describe, expect, it } from 'vitest'
import {
  authorizePublishTopic,
  authorizeSubscribeFilter,
  type ConnectionIdentity,
  mayReceive,
} from '../../src/broker/acl.js'

describe('gateway ACL', () => {
  it('pins a local-profile client to the restaurant of its first topic', () => {
    const id: ConnectionIdentity = { deviceId: 'kiosk-1', restaurantId: null, source: 'client-id' }
    expect(authorizePublishTopic(id, 'pp/v1/r001/kiosk-1/evt/order.placed')).toEqual({ allowed: true })
    expect(id.restaurantId).toBe('r001')
    expect(authorizePublishTopic(id, 'pp/v1/r002/kiosk-1/evt/order.placed').allowed).toBe(false)
  })

  it('refuses another device, command topics, $SYS and wildcards', () => {
    const id: ConnectionIdentity = { deviceId: 'kiosk-1', restaurantId: 'r001', source: 'certificate' }
    expect(authorizePublishTopic(id, 'pp/v1/r001/kiosk-2/evt/order.placed').allowed).toBe(false)
    expect(authorizePublishTopic(id, 'pp/v1/r001/kiosk-1/cmd/reboot').allowed).toBe(false)
    expect(authorizePublishTopic(id, '$SYS/broker/clients').allowed).toBe(false)
    expect(authorizeSubscribeFilter(id, 'pp/v1/r001/kiosk-1/cmd/+')).toEqual({ allowed: true })
    expect(authorizeSubscribeFilter(id, 'pp/v1/r001/+/cmd/+').allowed).toBe(false)
    expect(authorizeSubscribeFilter(id, '#').allowed).toBe(false)
    expect(authorizeSubscribeFilter(id, '$SYS/#').allowed).toBe(false)
  })

  it('forwards to a device only its own command topics', () => {
    const id: ConnectionIdentity = { deviceId: 'pager-1', restaurantId: 'r001', source: 'certificate' }
    expect(mayReceive(id, 'pp/v1/r001/pager-1/cmd/order.ready')).toBe(true)
    expect(mayReceive(id, 'pp/v1/r001/pager-2/cmd/order.ready')).toBe(false)
    expect(mayReceive(id, 'pp/v1/r002/pager-1/cmd/order.ready')).toBe(false)
    expect(mayReceive(id, 'pp/v1/r001/pager-1/evt/order.rated')).toBe(false)
  })
})
