/**
 * The one contract every transport adapter implements (STYLE.md §3: the ack rule is on the
 * interface). A device's firmware sees only this; MQTT and serial are small files behind it.
 */

/** One message as the firmware hands it over: where it goes and the exact bytes. */
export interface OutboundMessage {
  /** MQTT topic; the serial transport ignores it (a serial line carries one device). */
  topic: string
  payload: Uint8Array
}

export interface DeviceTransport {
  readonly kind: 'mqtt' | 'mqtts' | 'serial'
  /**
   * Opens the connection and subscribes to the device's command topic. Rejects with a SimError
   * (SIM_CONNECT_FAILED, canRetry true) when the broker or port is unavailable; the caller backs off.
   */
  connect(): Promise<void>
  /**
   * Sends one message at least once. ACK RULE: resolves only when the receiver acknowledged it — the
   * broker's PUBACK (MQTT QoS 1, MQTT 3.1.1 §4.3.2) or the gateway's ACK frame with the same seq
   * (serial). Rejects with SIM_DISCONNECTED when the connection drops first, SIM_ACK_TIMEOUT when no
   * ack came in time (the caller may retransmit the same bytes: receivers de-duplicate by event_id),
   * or SIM_REJECTED for a NACK a retransmit cannot fix.
   */
  publish(message: OutboundMessage): Promise<void>
  /** Raw command payloads from the device's command topic or COMMAND frames. */
  onCommand(handler: (payload: Uint8Array, topic: string) => void): void
  /** Called once per lost connection (not after `close`). */
  onDisconnect(handler: (error: Error) => void): void
  /** Drops the connection as a network fault would; pending publishes reject with SIM_DISCONNECTED. */
  drop(): void
  /** Closes for good; pending publishes reject with SIM_CLOSED. */
  close(): Promise<void>
}
