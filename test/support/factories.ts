// Technicians and sessions for tests, made through the real services and the real HTTP API.
import assert from 'node:assert/strict';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import type { Role } from '../../src/domain/roles.ts';
import { systemContext } from '../../src/services/context.ts';
import type { Harness } from './harness.ts';

let counter = 0;

export interface TestTechnician {
  id: string;
  username: string;
  password: string;
  totpSecret: string | null;
}

export async function createTechnician(h: Harness, roles: Role[] = ['technician'], name?: string): Promise<TestTechnician> {
  counter += 1;
  const username = name ?? `tech${counter}-${Math.random().toString(36).slice(2, 8)}`;
  const password = `pw-${username}-long-enough`;
  const technician = await h.container.services.technicians.create(
    { username, displayName: `Test ${username}`, email: `${username}@example.test`, roles, identitySource: 'local', password },
    'system',
    systemContext,
  );
  return { id: technician.id, username, password, totpSecret: null };
}

export const codeNow = (h: Harness, secret: string) => totpCodeAt(secret, h.clock.now());

/** Logs in over HTTP (password → enrol if needed → TOTP), moving the clock one step so the code is fresh. */
export async function login(h: Harness, t: TestTechnician): Promise<{ accessToken: string; refreshToken: string }> {
  const step = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
  assert.equal(step.status, 200, JSON.stringify(step.body));
  if (step.body.next === 'enrol') {
    const enrol = await h.http.post('/api/v1/auth/mfa/enrol').send({ mfaToken: step.body.mfaToken });
    assert.equal(enrol.status, 200, JSON.stringify(enrol.body));
    t.totpSecret = enrol.body.secret as string;
  }
  h.clock.advance(30_000);
  const verify = await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code: await codeNow(h, t.totpSecret!) });
  assert.equal(verify.status, 200, JSON.stringify(verify.body));
  return { accessToken: verify.body.accessToken, refreshToken: verify.body.refreshToken };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
