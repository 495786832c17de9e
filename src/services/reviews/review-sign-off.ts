// An auditor signs a finished review off with a fresh TOTP code (docs/security-model.md, Access
// reviews); once only, audited with the counts it saw.
import { DomainError } from '../../domain/errors.ts';
import { auditOrigin, type RequestContext } from '../context.ts';
import type { Review } from '../ports/reviews.ts';
import { mustFind, type ReviewDeps } from './review-deps.ts';

export async function signOff(
  deps: ReviewDeps,
  id: string,
  input: { code: string; comment?: string | null },
  technicianId: string,
  ctx: RequestContext,
): Promise<Review> {
  const review = await mustFind(deps, id);
  if (review.status === 'queued' || review.status === 'running') throw new DomainError('conflict', 'The review has not finished yet');
  if (review.signedOffBy !== null) throw new DomainError('conflict', 'The review is already signed off');
  const technician = await deps.store.technicians.findById(technicianId);
  if (!technician) throw new DomainError('unauthenticated', 'Unknown technician');
  const comment = input.comment?.trim() || null;
  await deps.mfa.verifyFreshCode(technician, input.code, 'review.signoff', ctx, async (tx, at) => {
    if (!(await tx.reviews.signOff(id, technicianId, comment, at))) throw new DomainError('conflict', 'The review is already signed off');
    await tx.audit.append(
      {
        actor: technicianId,
        action: 'review.signed_off',
        tenantId: review.tenantId,
        target: id,
        details: { comment, status: review.status, ...review.counts },
        ...auditOrigin(ctx),
      },
      at,
    );
  });
  return mustFind(deps, id);
}
