import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** Prefix of the environment variables that set configuration keys. */
export const envPrefix = 'BERTH_';

/** A configuration that could not be read or is invalid; `message` names the key and the reason. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Sources of configuration, lowest precedence first: defaults, file, environment, overrides. */
export interface ConfigSources {
  /** Path of a YAML configuration file. */
  readonly file?: string | undefined;
  /** Environment to read `BERTH_*` variables from; none when omitted. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Values that win over everything, such as command-line flags, as dotted key paths. */
  readonly overrides?: Readonly<Record<string, string | undefined>> | undefined;
}

/**
 * Builds the effective configuration from its sources and validates it. Throws ConfigError with
 * the key path, where it came from (file, environment variable or flag) and the reason.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const input: Record<string, unknown> = sources.file ? readConfigFile(sources.file) : {};
  const origins = new Map<string, string>();
  for (const key of configKeys()) {
    const variable = envName(key);
    const value = sources.env?.[variable];
    if (value !== undefined && value !== '') {
      setPath(input, key, value);
      origins.set(key, `environment variable ${variable}`);
    }
  }
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    if (value === undefined) continue;
    setPath(input, key, value);
    origins.set(key, 'command-line flag');
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, input, origins, sources.file));
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/**
 * Returns the names of `BERTH_*` variables in `env` that set no configuration key, usually a
 * misspelt key, which the configuration would otherwise ignore without a word.
 */
export function unknownEnvironmentVariables(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(configKeys().map(envName));
  return Object.keys(env)
    .filter((name) => name.startsWith(envPrefix) && !known.has(name))
    .sort();
}

/** Lists every configuration key as a dotted path, such as `log.level`. */
export function configKeys(): string[] {
  const keys: string[] = [];
  const walk = (schema: z.ZodType, prefix: string): void => {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) {
      for (const [name, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
        walk(child, prefix ? `${prefix}.${name}` : name);
      }
    } else {
      keys.push(prefix);
    }
  };
  walk(configSchema, '');
  return keys;
}

/** Returns the environment variable for a dotted key: `limits.manifestMaxBytes` is `BERTH_LIMITS_MANIFEST_MAX_BYTES`. */
export function envName(key: string): string {
  return envPrefix + key.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Resolves the storage and database locations that default to places under `dataDir`. */
export function resolvePaths(config: Config): { storageRoot: string; sqlitePath: string } {
  const dataDir = resolve(config.dataDir);
  return {
    storageRoot: resolve(config.storage.filesystem.root ?? `${dataDir}/storage`),
    sqlitePath: resolve(config.metadata.sqlite.path ?? `${dataDir}/metadata.db`),
  };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    const reason = error instanceof YAMLParseError ? (error.message.split('\n')[0] ?? '').replace(/:$/, '') : String(error);
    throw new ConfigError(`configuration file ${file} is not valid YAML: ${reason}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`configuration file ${file} must contain a YAML mapping of keys, not ${Array.isArray(parsed) ? 'a list' : typeof parsed}`);
  }
  return parsed as Record<string, unknown>;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodPrefault) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>, origins: Map<string, string>, file: string | undefined): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((name) => (path ? `${path}.${name}` : name));
    return `unknown key ${keys.join(', ')}${file ? ` in ${file}` : ''}; valid keys are listed by \`berth config keys\``;
  }
  const origin = origins.get(path) ?? (file ? `file ${file}` : 'defaults');
  const value = issue.path.reduce<unknown>((node, part) => (typeof node === 'object' && node !== null ? (node as Record<PropertyKey, unknown>)[part] : undefined), input);
  const given = value === undefined || typeof value === 'object' ? '' : ` ${JSON.stringify(value)}`;
  return `${path || '(root)'}: invalid value${given}: ${issue.message} (from ${origin})`;
}
