import { InvalidPropError } from '../errors.ts';
import { DIRECTIVES, type DirectiveRule, MANAGED_DIRECTIVES } from './directives.ts';

/** A directive value as props give it; booleans render as yes/no. */
export type DirectiveValue = string | number | boolean;

/** Directives in the order they are rendered. */
export type RedisConfEntries = ReadonlyArray<readonly [string, DirectiveValue]>;

const MEMORY_VALUE = /^\d+(k|kb|m|mb|g|gb)?$/i;

function ruleText(rule: DirectiveRule): string {
  switch (rule.kind) {
    case 'bool':
      return 'must be a boolean (yes/no)';
    case 'int':
      return `must be an integer from ${rule.min} to ${rule.max}`;
    case 'memory':
      return 'must be a byte count such as 1048576, 64mb or 1gb';
    case 'enum':
      return `must be one of ${rule.values.join(', ')}`;
    case 'pattern':
      return rule.description;
  }
}

function valueMatches(rule: DirectiveRule, value: DirectiveValue): boolean {
  switch (rule.kind) {
    case 'bool':
      return typeof value === 'boolean' || value === 'yes' || value === 'no';
    case 'int': {
      const n = typeof value === 'number' ? value : /^-?\d+$/.test(String(value)) ? Number(value) : Number.NaN;
      return Number.isInteger(n) && n >= rule.min && n <= rule.max;
    }
    case 'memory':
      return (typeof value === 'number' && Number.isInteger(value) && value >= 0) || MEMORY_VALUE.test(String(value));
    case 'enum':
      return rule.values.includes(String(value));
    case 'pattern':
      return typeof value === 'string' && rule.pattern.test(value);
  }
}

/**
 * Checks user-supplied directives: each must be a known Redis 7.0 directive that the construct does not manage, with
 * a value its rule accepts. Throws an {@link InvalidPropError} naming the owner, the directive, the rule and the value.
 */
export function validateUserConfig(owner: string, config: Readonly<Record<string, DirectiveValue>>): void {
  for (const [name, value] of Object.entries(config)) {
    const field = `config['${name}']`;
    const managedBy = MANAGED_DIRECTIVES[name];
    if (managedBy !== undefined) {
      throw new InvalidPropError(owner, field, `is set by the construct; use ${managedBy} instead`, value);
    }
    const rule = DIRECTIVES[name];
    if (rule === undefined) {
      throw new InvalidPropError(owner, field, 'is not a Redis 7.0 directive this construct accepts', value);
    }
    if (!valueMatches(rule, value)) throw new InvalidPropError(owner, field, ruleText(rule), value);
  }
}

function renderValue(value: DirectiveValue): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  const text = String(value);
  if (text === '') return '""';
  if (/[\n\r"]/.test(text)) throw new Error(`redis.conf value ${JSON.stringify(text)} cannot be rendered`);
  return text;
}

/** Renders directives as redis.conf text, one per line; a later entry with the same name replaces an earlier one. */
export function renderRedisConf(entries: RedisConfEntries, header = ''): string {
  // client-output-buffer-limit is set once per client class: the class is part of its identity.
  const keyOf = (name: string, value: DirectiveValue) =>
    name === 'client-output-buffer-limit' ? `${name} ${String(value).split(' ')[0]}` : name;
  const merged = new Map<string, readonly [string, DirectiveValue]>();
  for (const [name, value] of entries) merged.set(keyOf(name, value), [name, value]);
  const lines = [...merged.values()].map(([name, value]) => `${name} ${renderValue(value)}`);
  return `${header ? `${header.replace(/^/gm, '# ')}\n` : ''}${lines.join('\n')}\n`;
}

/** Parses redis.conf text back into name -> raw value (tests and tooling). */
export function parseRedisConf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const space = trimmed.indexOf(' ');
    out.set(space < 0 ? trimmed : trimmed.slice(0, space), space < 0 ? '' : trimmed.slice(space + 1));
  }
  return out;
}
