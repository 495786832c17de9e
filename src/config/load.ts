// Reads configuration once: config/default.yaml, then the file named by STINT_CONFIG_FILE, then
// environment variables STINT_<SECTION>__<KEY> (STINT_SERVER__PORT=9000 sets server.port) and
// STINT_<TOP_LEVEL_KEY> (STINT_MODE, STINT_DATA_DIR). Other STINT_* variables (the scripts' own,
// such as STINT_RUN_DIR or STINT_REDIS_PORT) are not configuration and are left alone. Validates
// it all and reports every problem at once, naming the variable a wrong value came from.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configSchema, masterKeyProblem, secretPaths, urlPathsWithCredentials, type Config } from './schema.ts';

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

export interface EnvOverrides {
  tree: Tree;
  /** The variable each setting came from, by dotted path ('server.port' → 'STINT_SERVER__PORT'). */
  origins: Map<string, string>;
  problems: string[];
}

const topLevelKeys: ReadonlySet<string> = new Set(Object.keys(configSchema.shape));

export function envOverrides(env: NodeJS.ProcessEnv): EnvOverrides {
  const out: EnvOverrides = { tree: {}, origins: new Map(), problems: [] };
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith('STINT_') || raw === undefined || name === 'STINT_CONFIG_FILE') continue;
    const rest = name.slice('STINT_'.length);
    let path: string[];
    if (rest.includes('__')) {
      path = rest.split('__').map(camel);
      if (path.some((p) => p === '')) {
        out.problems.push(`${name}: not a setting name; write STINT_<SECTION>__<KEY>, e.g. STINT_SERVER__PORT`);
        continue;
      }
    } else if (topLevelKeys.has(camel(rest))) {
      path = [camel(rest)];
    } else {
      continue;
    }
    if (raw.trim() === '') {
      out.problems.push(`${name} is set but empty: give it a value or unset it`);
      continue;
    }
    let node = out.tree;
    for (const key of path.slice(0, -1)) {
      if (!isTree(node[key])) node[key] = {};
      node = node[key] as Tree;
    }
    node[path[path.length - 1]!] = envValue(raw);
    out.origins.set(path.join('.'), name);
  }
  return out;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  files?: string[];
}

/**
 * The variables to name beside a problem at `path`: the one that set it (or the list it is an item
 * of), and for an unknown section, those that set something inside it.
 */
function fromVariables(origins: Map<string, string>, path: string, inside: boolean): string {
  const related = (p: string) => p === path || path.startsWith(`${p}.`) || (inside && p.startsWith(`${path}.`));
  const names = [...origins].filter(([p]) => related(p)).map(([, name]) => name);
  return names.length > 0 ? ` (from ${names.join(', ')})` : '';
}

/** A master key file must exist and hold a key, or the service could not start. */
function masterKeyFileProblem(raw: Tree): string | undefined {
  const file = isTree(raw.secrets) ? raw.secrets.masterKeyFile : undefined;
  if (typeof file !== 'string' || file === '') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return `secrets.masterKeyFile: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  const problem = masterKeyProblem(text);
  return problem === undefined ? undefined : `secrets.masterKeyFile: the key in ${file} ${problem}`;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const files = options.files ?? [defaultFile, ...(env.STINT_CONFIG_FILE ? [env.STINT_CONFIG_FILE] : [])];
  let raw: Tree = {};
  for (const file of files) raw = merge(raw, readYaml(file, problems));
  const fromEnv = envOverrides(env);
  problems.push(...fromEnv.problems);
  raw = merge(raw, fromEnv.tree);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const path = [...issue.path, key].join('.');
          problems.push(`${path}: unknown setting${fromVariables(fromEnv.origins, path, true)}`);
        }
        continue;
      }
      const path = issue.path.join('.');
      problems.push(`${path || '(root)'}: ${issue.message}${path ? fromVariables(fromEnv.origins, path, false) : ''}`);
    }
  }
  const keyFileProblem = masterKeyFileProblem(raw);
  if (keyFileProblem !== undefined) problems.push(keyFileProblem);
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
