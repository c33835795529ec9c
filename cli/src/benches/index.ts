import type { BenchDefinition } from '@pedepronto/common'
import { outboxBench } from './outbox.js'
import { serialBench } from './serial.js'
import { servicesBench } from './services.js'
import { simBench } from './sim.js'

/** Every benchmark `pedepronto bench NAME` knows; later issues add theirs here. */
export const BENCHES: readonly BenchDefinition[] = [servicesBench, simBench, outboxBench, serialBench]
