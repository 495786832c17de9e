// RFC 6238 TOTP through otplib (docs/security-model.md, Login, TOTP and sessions): SHA-1, 6 digits, 30 s, the current step ±1 accepted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandomSource } from '../../src/adapters/crypto/random.ts';
import { createTotpEngine, totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { timeStepAt } from '../../src/domain/mfa.ts';
import type { RandomSource } from '../../src/services/ports/runtime.ts';

/** ASCII "12345678901234567890", the SHA-1 seed of RFC 6238 appendix B, in base32. */
const rfcSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const rfcVectors: Array<[seconds: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];
const atSeconds = (seconds: number) => new Date(seconds * 1000);
const engine = createTotpEngine(createRandomSource());

describe('TOTP codes', () => {
  it('when codes are computed at the RFC 6238 appendix B times with 8 digits, then they match the SHA-1 vectors', async () => {
    for (const [seconds, code] of rfcVectors) assert.equal(await totpCodeAt(rfcSecret, atSeconds(seconds), 8), code, `T=${seconds}`);
  });

  it('when codes are computed with the default 6 digits, then they are the last six digits of the RFC vectors', async () => {
    for (const [seconds, code] of rfcVectors) assert.equal(await totpCodeAt(rfcSecret, atSeconds(seconds)), code.slice(-6), `T=${seconds}`);
  });
});

describe('TOTP secrets', () => {
  it('when a secret is generated, then it is 20 bytes from the injected random source, in unpadded base32', () => {
    const requested: number[] = [];
    const zeros: RandomSource = { bytes: (count) => (requested.push(count), Buffer.alloc(count)), id: () => 'unused' };
    assert.equal(createTotpEngine(zeros).generateSecret(), 'A'.repeat(32));
    assert.deepEqual(requested, [20]);
  });

  it('when secrets are generated from a CSPRNG, then they are 32 base32 characters and differ', () => {
    const secrets = new Set(Array.from({ length: 5 }, () => engine.generateSecret()));
    assert.equal(secrets.size, 5);
    for (const secret of secrets) assert.match(secret, /^[A-Z2-7]{32}$/);
  });
});

describe('TOTP matching', () => {
  const secret = rfcSecret;
  const stepStart = Date.UTC(2026, 0, 1, 12, 0, 0);
  const codeAtStep = (now: Date, offset: number) => totpCodeAt(secret, new Date(now.getTime() + offset * 30_000));

  // Early, middle and last moment of a step: the accepted window is whole steps, wherever "now" falls.
  for (const intoStep of [0, 15_000, 29_999]) {
    const now = new Date(stepStart + intoStep);

    it(`when the code is from the current step or one either side (${intoStep} ms into the step), then it matches and names that step`, async () => {
      const step = Math.floor(now.getTime() / 1000 / 30);
      assert.equal(step, timeStepAt(now));
      for (const offset of [-1, 0, 1]) {
        assert.deepEqual(await engine.match(secret, await codeAtStep(now, offset), now), { step: step + offset }, `offset ${offset}`);
      }
    });

    it(`when the code is two steps away (${intoStep} ms into the step), then it does not match`, async () => {
      for (const offset of [-2, 2]) assert.equal(await engine.match(secret, await codeAtStep(now, offset), now), null, `offset ${offset}`);
    });
  }

  it('when the code belongs to another secret, then it does not match', async () => {
    const now = new Date(stepStart);
    const otherCode = await totpCodeAt('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', now);
    assert.notEqual(otherCode, await totpCodeAt(secret, now));
    assert.equal(await engine.match(secret, otherCode, now), null);
  });

  it('when the code is malformed, then the answer is no match rather than an error', async () => {
    const now = new Date(stepStart);
    for (const code of ['', 'abcdef', '12345', '1234567', ' 12345', await totpCodeAt(secret, now, 8)]) {
      assert.equal(await engine.match(secret, code, now), null, JSON.stringify(code));
    }
  });

  it('when the stored secret is corrupt, then matching a well-formed code throws key_unavailable without quoting the secret, rather than answering no match', async () => {
    const now = new Date(stepStart);
    const corrupt = ['not base32!!', '', 'GEZDGNBV', `${secret}====`, 'GEZDGNBVGY3TQOJQGEZDG1BVGY3TQOJQ'];
    for (const stored of corrupt) {
      await assert.rejects(engine.match(stored, '123456', now), (error: unknown) => {
        assert.ok(error instanceof DomainError && error.code === 'key_unavailable', `${JSON.stringify(stored)}: ${String(error)}`);
        if (stored !== '') assert.ok(!error.message.includes(stored.slice(0, 8)), error.message);
        assert.ok(!/base32 string|letter/i.test(error.message), `otplib's message may quote the secret: ${error.message}`);
        return true;
      });
    }
  });
});

describe('TOTP enrolment', () => {
  it('when a key URI is made, then it is an otpauth://totp/ URI with the issuer, the account, the secret, SHA-1, 6 digits and 30 s', () => {
    const text = engine.keyUri(rfcSecret, 'jdoe@msp.example', 'Stint MSP');
    assert.ok(text.startsWith('otpauth://totp/'), text);
    const uri = new URL(text);
    assert.equal(decodeURIComponent(uri.pathname.slice(1)), 'Stint MSP:jdoe@msp.example');
    assert.equal(uri.searchParams.get('secret'), rfcSecret);
    assert.equal(uri.searchParams.get('issuer'), 'Stint MSP');
    // otplib leaves out parameters that equal the Key URI defaults (SHA1, 6, 30); if present they must say so.
    assert.equal((uri.searchParams.get('algorithm') ?? 'SHA1').toUpperCase(), 'SHA1');
    assert.equal(uri.searchParams.get('digits') ?? '6', '6');
    assert.equal(uri.searchParams.get('period') ?? '30', '30');
  });

  it('when a QR code is drawn for a URI, then it is an SVG document, and another URI draws another picture', async () => {
    const svg = await engine.qrCodeSvg(engine.keyUri(rfcSecret, 'jdoe', 'Stint'));
    assert.match(svg, /^(<\?xml[^>]*>\s*)?<svg[\s>]/);
    assert.match(svg, /<\/svg>\s*$/);
    assert.notEqual(await engine.qrCodeSvg(engine.keyUri(rfcSecret, 'asmith', 'Stint')), svg);
  });
});
