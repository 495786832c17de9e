// Secrets at rest, password hashes and TOTP.
/** Envelope encryption of secrets at rest, bound to a context string (e.g. `tenant:acme:bind`). */
export interface SecretBox {
  seal(plaintext: string, context: string): Promise<string>;
  open(sealed: string, context: string): Promise<string>;
  /** True when the value was sealed under a key other than the current master key. */
  isStale(sealed: string): boolean;
  currentKeyId(): string;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same effort as a real verification, so unknown users answer in the same time. */
  verifyDummy(password: string): Promise<void>;
}

export interface TotpMatch {
  step: number;
}

export interface TotpEngine {
  generateSecret(): string;
  /** Finds the step (current ±1) the code belongs to, with a constant-time comparison, or null. */
  match(secret: string, code: string, at: Date): Promise<TotpMatch | null>;
  keyUri(secret: string, accountName: string, issuer: string): string;
  qrCodeSvg(uri: string): Promise<string>;
}

/** SHA-256 fed piece by piece: an export's digest covers more bytes than are ever held at once. */
export interface Sha256 {
  update(data: string | Uint8Array): void;
  /** The digest as lower-case hex; the hash takes no more input after this. */
  hex(): string;
}

/** Hashing for the use cases (refresh-token hashes, export digests), implemented in src/adapters/crypto/hashing.ts. */
export interface Hashing {
  sha256(): Sha256;
  /** SHA-256 of a UTF-8 string, lower-case hex. */
  sha256Hex(text: string): string;
  /** Compares two hex strings in constant time (false when their lengths differ). */
  sameHex(a: string, b: string): boolean;
}
