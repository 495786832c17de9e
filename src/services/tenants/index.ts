// The tenants context's only entrance: what the rest of Stint may use from it.
export {
  type AccountService,
  accountWriteRefusal,
  auditNotEligible,
  createAccountService,
  type EligibilityStep,
  recordAccountMove,
} from './account-service.ts';
export { type ApplyService, createApplyService, type TenantPlan } from './apply-service.ts';
export { createProfileService, profileInputSchema, type ProfileService } from './profile-service.ts';
export { createProtectedGroupService, type ProtectedGroupService } from './protected-group-service.ts';
export { createTenantAccess, type TenantAccess } from './tenant-access.ts';
export { bindPasswordContext, createTenantService, presentTenant, type TenantService } from './tenant-service.ts';
