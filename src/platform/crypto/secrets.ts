import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Secrets at rest (API keys, bot tokens, signing secrets): AES-256-GCM under one master key. The master key
// comes from FIREBREAK_MASTER_KEY, or in embedded (SQLite) mode is generated once into the data directory
// with owner-only permissions. Ciphertexts carry a version prefix so the scheme can change later.

const VERSION = 'v1';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be 32 bytes');
  }

  encrypt(plaintext: string, context = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64')}`;
  }

  /** `context` must match the one used to encrypt (e.g. "pagerduty.api_key"), so ciphertexts can't be swapped. */
  decrypt(box: string, context = ''): string {
    const [version, data] = box.split(':', 2);
    if (version !== VERSION || !data) throw new Error('unknown secret format');
    const raw = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/** Parses FIREBREAK_MASTER_KEY: 32 bytes as base64 or hex. Returns an error message when malformed. */
export function parseMasterKey(value: string): Buffer | string {
  const v = value.trim();
  const buf = /^[0-9a-f]{64}$/i.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (buf.length !== 32) return 'must be 32 random bytes, base64 or hex encoded (generate one with: openssl rand -base64 32)';
  return buf;
}

/** Embedded mode: read or create `<dataDir>/master.key` (mode 0600). */
export function loadOrCreateKeyFile(dataDir: string): Buffer {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'master.key');
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) chmodSync(file, 0o600);
    const parsed = parseMasterKey(readFileSync(file, 'utf8'));
    if (typeof parsed === 'string') throw new Error(`${file} is not a valid master key: ${parsed}`);
    return parsed;
  }
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

/** Shows the end of a secret so a person can tell which one is stored: "••••abcd". */
export function maskSecret(secret: string): string {
  return `••••${secret.slice(-4)}`;
}
