// RFC 6238 TOTP through otplib: SHA-1, 6 digits, 30 s. otplib checks the steps either side of
// now with a constant-time comparison and says which one matched; replay and lockout are Stint's
// own rules (src/domain/mfa.ts), because otplib keeps no state.
import { generate, generateURI, verify } from 'otplib';
import { ScureBase32Plugin } from 'otplib';
import QRCode from 'qrcode';
import { DomainError } from '../../domain/errors.ts';
import { isWellFormedTotpCode, totpAcceptedDrift, totpDigits, totpPeriodSeconds, totpSecretBytes } from '../../domain/mfa.ts';
import type { RandomSource } from '../../services/ports/runtime.ts';
import type { TotpEngine } from '../../services/ports/crypto.ts';

const base32 = new ScureBase32Plugin();

export function createTotpEngine(random: RandomSource): TotpEngine {
  return {
    generateSecret() {
      return base32.encode(random.bytes(totpSecretBytes), { padding: false });
    },

    async match(secret, code, at) {
      // A malformed code is the user's typing: no match. Anything otplib refuses after that is the
      // stored secret (undecodable, too short), which must not pass for a wrong code and count
      // towards a lockout; its message is not repeated, as it may quote the secret.
      if (!isWellFormedTotpCode(code)) return null;
      const epoch = Math.floor(at.getTime() / 1000);
      const result = await verify({
        secret,
        token: code,
        epoch,
        period: totpPeriodSeconds,
        digits: totpDigits,
        algorithm: 'sha1',
        epochTolerance: totpAcceptedDrift * totpPeriodSeconds,
      }).catch((error: unknown) => {
        const kind = error instanceof Error ? error.name : 'error';
        throw new DomainError('key_unavailable', `The stored TOTP secret cannot be used (${kind})`);
      });
      if (!result.valid || !('epoch' in result)) return null;
      return { step: Math.floor(result.epoch / totpPeriodSeconds) };
    },

    keyUri(secret, accountName, issuer) {
      return generateURI({
        issuer,
        label: accountName,
        secret,
        algorithm: 'sha1',
        digits: totpDigits,
        period: totpPeriodSeconds,
      });
    },

    qrCodeSvg: (uri) => QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
  };
}

/** A code for `secret` at `at`; used by the demo and the tests to act as an authenticator app. */
export function totpCodeAt(
  secret: string,
  at: Date,
  digits = totpDigits,
  algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1',
): Promise<string> {
  return generate({ secret, epoch: Math.floor(at.getTime() / 1000), period: totpPeriodSeconds, digits: digits as 6, algorithm });
}
