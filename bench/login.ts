// Full login latency over HTTP (password with argon2id, then TOTP, then session tokens): what a
// technician waits for. Prints percentiles; asserts nothing about speed.
import { performance } from 'node:perf_hooks';
import { startHarness } from '../test/support/harness.ts';
import { createTechnician, login } from '../test/support/factories.ts';

const rounds = Number(process.env.BENCH_LOGINS ?? 50);
const h = await startHarness();
try {
  const technician = await createTechnician(h);
  await login(h, technician);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await login(h, technician);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(1);
  console.log(`login (password + TOTP + tokens), ${rounds} rounds: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`);
} finally {
  await h.close();
}
