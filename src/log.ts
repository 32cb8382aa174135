import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';

/**
 * Creates the process logger. `auto` prints readable lines when stdout is a terminal and JSON
 * lines otherwise. No code path logs request headers, so `Authorization` values stay out of the
 * logs. The redact list also masks secrets in any object passed to the logger by mistake.
 */
export function createLogger(config: Config['log'], destination?: pino.DestinationStream): Logger {
  const pretty = config.format === 'pretty' || (config.format === 'auto' && process.stdout.isTTY === true && !destination);
  const options: pino.LoggerOptions = {
    level: config.level,
    base: { service: 'berth' },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', '*.password', '*.secret', '*.secretAccessKey'], censor: '[redacted]' },
  };
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true } } });
  }
  return destination ? pino(options, destination) : pino(options);
}
