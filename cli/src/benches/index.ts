import type { BenchDefinition } from '@pedepronto/common'
import { e2eBench } from './e2e.js'
import { faultsBench } from './faults.js'
import { gatewayBench } from './gateway.js'
import { outboxBench } from './outbox.js'
import { processorBench } from './processor.js'
import { serialBench } from './serial.js'
import { servicesBench } from './services.js'
import { simBench } from './sim.js'
import { sinkBench } from './sink.js'

/** Every benchmark `pedepronto bench NAME` knows; later issues add theirs here. */
export const BENCHES: readonly BenchDefinition[] = [
  servicesBench,
  simBench,
  gatewayBench,
  outboxBench,
  serialBench,
  processorBench,
  sinkBench,
  e2eBench,
  faultsBench,
]
