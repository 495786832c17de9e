// The access context's only entrance: what the rest of Stint may use from it.
export { createAuthService, type Principal } from './auth-service.ts';
export { createKeyService } from './key-service.ts';
export { createMfaService, type MfaService, totpSecretContext } from './mfa-service.ts';
export { createTechnicianService, presentTechnician, type TechnicianService } from './technician-service.ts';
