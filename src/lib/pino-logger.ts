/**
 * The concrete logger: pino (JSON lines on stdout), with every path that can carry a secret
 * redacted. Request logging records method, path, status and timing, never headers wholesale.
 * @module
 */
import { pino } from 'pino'
import type { Logger } from './logger.js'

const REDACT = [
  'authorization',
  'headers.authorization',
  'headers["x-amz-security-token"]',
  'headers.cookie',
  'password',
  '*.password',
  'secret',
  'secretKey',
  'secret_key',
  '*.secret_key',
  '*.secretKey',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'token',
  '*.token',
]

export function createLogger(level: 'debug' | 'info' | 'warn' | 'error' | 'silent'): Logger {
  return pino({
    level,
    base: null,
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }) as unknown as Logger
}
