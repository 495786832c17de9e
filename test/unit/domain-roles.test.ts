import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasAnyRole, hasRole } from '../../src/domain/roles.ts';

describe('roles', () => {
  it('when roles are checked, then admin does not imply the others', () => {
    assert.equal(hasRole(['admin'], 'auditor'), false);
    assert.equal(hasAnyRole(['auditor'], ['admin', 'auditor']), true);
    assert.equal(hasAnyRole(['technician'], ['admin', 'auditor']), false);
  });
});
