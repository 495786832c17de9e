// The access context's only entrance: what the rest of Stint may use from it.
export { type AuthService, createAuthService, type Principal } from './auth-service.ts';
export { createKeyService, type KeyService } from './key-service.ts';
export { createMfaService, type MfaService, totpSecretContext } from './mfa-service.ts';
export { createTechnicianService, presentTechnician, type TechnicianService } from './technician-service.ts';
