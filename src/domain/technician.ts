import type { Role } from './roles.ts';

export type TechnicianStatus = 'active' | 'suspended';
export type IdentitySourceKind = 'local' | 'ldap';

export interface Technician {
  id: string;
  username: string;
  displayName: string;
  email: string;
  slackUserId: string | null;
  roles: Role[];
  /** Tenants this technician may approve for (meaningful with the `approver` role). */
  approverTenants: string[];
  status: TechnicianStatus;
  identitySource: IdentitySourceKind;
  mfaEnrolled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** Lower-case letters, digits, dot, dash, underscore; 2–64 characters; starts with a letter or digit. */
export const usernamePattern = /^[a-z0-9][a-z0-9._-]{1,63}$/;
