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
