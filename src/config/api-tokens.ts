import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ACCESS_ROLES, isAccessRole, type AccessRole } from '../domain/access.ts';

/**
 * A token the API accepts. Only its SHA-256 digest is kept: the token itself is never held in memory once
 * read, so a heap dump or a stray log of the configuration does not give it away.
 */
export interface ApiToken {
  /** Names the client in logs and in rate limiting. */
  name: string;
  role: AccessRole;
  digest: Buffer;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Thrown with a message that names where the bad entry is, never what it holds. */
export class TokenListError extends Error {
  override name = 'TokenListError';
}

/** Names go into logs and rate-limit keys: plain identifiers only. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DIGEST = /^sha256:(.*)$/s;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;
const ROLE_LIST = ACCESS_ROLES.join(', ');

/**
 * One `name:role:token` or `name:role:sha256:<64 hex digits>` entry; `where` says which entry ("line 3").
 * Messages may repeat the name (not a secret), never the role or token fields, which hold the secret
 * itself when a field was left out (`ci:s3cr3t`).
 */
function parseEntry(entry: string, where: string): ApiToken {
  const first = entry.indexOf(':');
  const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
  if (second < 0) throw new TokenListError(`${where}: expected name:role:token or name:role:sha256:<hex>`);
  const name = entry.slice(0, first).trim();
  const role = entry.slice(first + 1, second).trim();
  const secret = entry.slice(second + 1).trim();
  if (!NAME.test(name))
    throw new TokenListError(
      `${where}: the name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  if (!isAccessRole(role))
    throw new TokenListError(`${where} (${name}): unknown role, expected ${ROLE_LIST}`);
  if (secret === '') throw new TokenListError(`${where} (${name}): empty token`);
  const hashed = DIGEST.exec(secret);
  if (!hashed) return { name, role, digest: sha256(secret) };
  if (!HEX_DIGEST.test(hashed[1]!))
    throw new TokenListError(`${where} (${name}): sha256: must be followed by 64 hexadecimal digits`);
  return { name, role, digest: Buffer.from(hashed[1]!, 'hex') };
}

/**
 * A source that names no token at all is refused rather than read as "no authentication": whoever set it
 * meant to have some.
 */
function atLeastOne(tokens: ApiToken[], what: string): ApiToken[] {
  if (tokens.length === 0) throw new TokenListError(`${what} holds no token`);
  return tokens;
}

/** MANAGER_API_TOKENS: a comma list of entries; empty items (a trailing comma) are ignored. */
export function parseTokenList(text: string): ApiToken[] {
  const tokens = text
    .split(',')
    .map((entry, index) => ({ entry: entry.trim(), where: `entry ${index + 1}` }))
    .filter(({ entry }) => entry !== '')
    .map(({ entry, where }) => parseEntry(entry, where));
  return atLeastOne(tokens, 'the list');
}

/** The text of MANAGER_API_TOKENS_FILE: one entry per line; blank lines and `#` comments are skipped. */
export function parseTokenFile(text: string): ApiToken[] {
  const tokens = text
    .split(/\r?\n/)
    .map((line, index) => ({ entry: line.trim(), where: `line ${index + 1}` }))
    .filter(({ entry }) => entry !== '' && !entry.startsWith('#'))
    .map(({ entry, where }) => parseEntry(entry, where));
  return atLeastOne(tokens, 'the file');
}

export function readTokenFile(path: string): ApiToken[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new TokenListError(`cannot read ${path} (${code})`, { cause: error });
  }
  return parseTokenFile(text);
}

/**
 * Both sources together. A name given twice, or one token under two names, is refused: a client's name
 * must say who it is.
 */
export function checkUnique(tokens: ApiToken[]): void {
  const names = new Set<string>();
  for (const [index, token] of tokens.entries()) {
    if (names.has(token.name)) throw new TokenListError(`the name ${token.name} is given twice`);
    names.add(token.name);
    const twin = tokens.slice(0, index).find((other) => other.digest.equals(token.digest));
    if (twin) throw new TokenListError(`${twin.name} and ${token.name} have the same token`);
  }
}
