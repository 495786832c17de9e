// Reads configuration once: config/default.yaml, then the file named by STINT_CONFIG_FILE, then
// STINT_* environment variables (STINT_SERVER__PORT=9000 sets server.port). Validates it all and
// reports every problem at once.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configSchema, secretPaths, urlPathsWithCredentials, type Config } from './schema.ts';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Configuration is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Tree = Record<string, unknown>;

const defaultFile = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Tree, override: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  }
  return out;
}

function readYaml(file: string, problems: string[]): Tree {
  try {
    const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (parsed === null || parsed === undefined) return {};
    if (!isTree(parsed)) {
      problems.push(`${file}: the top level must be a mapping`);
      return {};
    }
    return parsed;
  } catch (error) {
    problems.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
}

const camel = (snake: string) => snake.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function envValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return raw;
}

export function envOverrides(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('STINT_') || raw === undefined || name === 'STINT_CONFIG_FILE') continue;
    const path = name.slice('STINT_'.length).split('__').map(camel);
    if (path.some((p) => p === '')) continue;
    let node = tree;
    for (const key of path.slice(0, -1)) {
      if (!isTree(node[key])) node[key] = {};
      node = node[key] as Tree;
    }
    node[path[path.length - 1]!] = envValue(raw);
  }
  return tree;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  files?: string[];
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const files = options.files ?? [defaultFile, ...(env.STINT_CONFIG_FILE ? [env.STINT_CONFIG_FILE] : [])];
  let raw: Tree = {};
  for (const file of files) raw = merge(raw, readYaml(file, problems));
  raw = merge(raw, envOverrides(env));
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.join('.') || '(root)';
      const keys = 'keys' in issue && Array.isArray(issue.keys) ? `: ${issue.keys.join(', ')}` : '';
      problems.push(`${path}: ${issue.message}${keys}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The effective configuration with every secret masked, for `stint config check`. */
export function maskedConfig(config: Config): Tree {
  const copy = structuredClone(config) as Tree;
  const at = (path: string): [Tree, string] | null => {
    const keys = path.split('.');
    let node: unknown = copy;
    for (const key of keys.slice(0, -1)) node = isTree(node) ? node[key] : undefined;
    return isTree(node) ? [node, keys[keys.length - 1]!] : null;
  };
  for (const path of secretPaths) {
    const found = at(path);
    if (!found || found[0][found[1]] === undefined) continue;
    const value = found[0][found[1]];
    found[0][found[1]] = Array.isArray(value) ? value.map(() => '****') : '****';
  }
  for (const path of urlPathsWithCredentials) {
    const found = at(path);
    if (found && typeof found[0][found[1]] === 'string') found[0][found[1]] = maskUrl(found[0][found[1]] as string);
  }
  return copy;
}
