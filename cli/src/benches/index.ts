import type { BenchDefinition } from '@pedepronto/common'
import { servicesBench } from './services.js'

/** Every benchmark `pedepronto bench NAME` knows; later issues add theirs here. */
export const BENCHES: readonly BenchDefinition[] = [servicesBench]
