export * from './ca.js'
export * from './database.js'
export * from './errors.js'
export * from './identity.js'
export {
  CA_NAME,
  caConfigText,
  caSubject,
  deviceUri,
  leafExtensionsText,
  type OpensslOptions,
  ORGANIZATION,
  openssl,
  parseSans,
  SERVER_OU,
  VALIDITY_DAYS,
} from './openssl.js'
export * from './paths.js'
