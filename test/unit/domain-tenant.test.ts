// Tenant rules: the directory connection's URL scheme (docs/security-model.md, Directory connections and sealed bind passwords), IANA time zones and tenant slugs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError, type ErrorCode } from '../../src/domain/errors.ts';
import { assertDirectoryUrlAllowed, changesPasswordEndpoint, isValidTimeZone, tenantIdPattern } from '../../src/domain/tenant.ts';

const refusedWith = (code: ErrorCode) => (error: unknown) =>
  error instanceof DomainError && error.code === code && error.details?.field === 'directory.url';

describe('directory URL', () => {
  it('when the URL is ldaps, then it is allowed in production and in development', () => {
    for (const production of [true, false]) {
      assert.doesNotThrow(() => assertDirectoryUrlAllowed('ldaps://dc1.acme.example:636', production));
      assert.doesNotThrow(() => assertDirectoryUrlAllowed('LDAPS://DC1.ACME.EXAMPLE', production));
    }
  });

  it('when the URL is plain ldap in production, then it is refused as insecure', () => {
    assert.throws(() => assertDirectoryUrlAllowed('ldap://dc1.acme.example:389', true), refusedWith('directory_insecure'));
  });

  it('when the URL is plain ldap in development, then it is allowed', () => {
    assert.doesNotThrow(() => assertDirectoryUrlAllowed('ldap://dc1.acme.example:389', false));
  });

  it('when the URL has another scheme, then it is refused in either mode', () => {
    for (const url of ['http://dc1.acme.example', 'https://dc1.acme.example', 'ldapi://%2Fvar%2Frun%2Fldapi']) {
      for (const production of [true, false]) {
        assert.throws(
          () => assertDirectoryUrlAllowed(url, production),
          refusedWith('directory_insecure'),
          `${url} production=${production}`,
        );
      }
    }
  });

  it('when the text is not a URL, then it is refused as invalid input', () => {
    assert.throws(() => assertDirectoryUrlAllowed('dc1.acme.example', false), refusedWith('validation_failed'));
  });

  it('when the URL names no host, then it is refused as invalid input in either mode', () => {
    for (const url of ['ldaps://', 'ldaps:///DC=acme,DC=example', 'ldap://']) {
      assert.throws(() => assertDirectoryUrlAllowed(url, false), refusedWith('validation_failed'), url);
    }
    assert.throws(() => assertDirectoryUrlAllowed('ldaps://', true), refusedWith('validation_failed'));
  });
});

describe('time zones', () => {
  it('when the name is an IANA time zone, then it is valid', () => {
    const zones = [
      'Europe/Berlin',
      'America/New_York',
      'America/Argentina/Buenos_Aires',
      'America/Port-au-Prince',
      'Asia/Kolkata',
      'Europe/Kyiv',
      'UTC',
      'Etc/UTC',
      'Etc/GMT+5',
      'Etc/GMT-14',
    ];
    for (const zone of zones) assert.equal(isValidTimeZone(zone), true, zone);
  });

  it('when the name is not a time zone, then it is invalid', () => {
    for (const zone of ['', 'Mars/Olympus', 'Europe/Berlin/x', 'GMT+25', 'Etc/GMT+15']) assert.equal(isValidTimeZone(zone), false, zone);
  });

  it('when the text is an offset, an abbreviation or a zone name in the wrong case, then it is invalid, though Intl would take it', () => {
    for (const zone of ['+01:00', '-0500', 'europe/berlin', 'EUROPE/BERLIN', 'Europe/BERLIN', 'utc', 'etc/utc', 'EST', 'US/Eastern']) {
      assert.equal(isValidTimeZone(zone), false, zone);
    }
  });
});

describe('tenant ids', () => {
  it('when the id is a lower-case slug of 1 to 40 characters, then it matches', () => {
    for (const id of ['a', 'acme', 'acme-corp-2', '9lives', 'a--b', 'a'.repeat(40)]) assert.equal(tenantIdPattern.test(id), true, id);
  });

  it('when the id has capitals, other characters, edge hyphens or is too long, then it does not match', () => {
    const bad = ['', 'Acme', '-acme', 'acme-', 'a b', 'acme_corp', 'ac.me', '../x', 'acme\n', 'a'.repeat(41)];
    for (const id of bad) assert.equal(tenantIdPattern.test(id), false, JSON.stringify(id));
  });
});

describe('where a stored bind password may be sent', () => {
  const stored = {
    url: 'ldaps://dc1.acme.test',
    bindDn: 'CN=stint,CN=Users,DC=acme,DC=test',
    baseDn: 'DC=acme,DC=test',
    caCertificate: 'PEM-A\n',
  };
  it('when only the spelling of the same server changes, or the base DN, then it is the same endpoint', () => {
    for (const url of ['ldaps://DC1.acme.test', 'ldaps://dc1.acme.test:636', 'ldaps://dc1.acme.test/']) {
      assert.equal(changesPasswordEndpoint(stored, { ...stored, url }), false, url);
    }
    assert.equal(changesPasswordEndpoint(stored, { ...stored, baseDn: 'OU=MSP,DC=acme,DC=test', caCertificate: 'PEM-A' }), false);
  });
  it('when the host, port, scheme, CA or bind DN changes, then the password must be given again', () => {
    for (const url of ['ldaps://evil.test', 'ldaps://dc1.acme.test:6360', 'ldap://dc1.acme.test', 'ldaps://dc1.acme.test.evil.test']) {
      assert.equal(changesPasswordEndpoint(stored, { ...stored, url }), true, url);
    }
    assert.equal(changesPasswordEndpoint(stored, { ...stored, caCertificate: 'PEM-B' }), true);
    assert.equal(changesPasswordEndpoint(stored, { ...stored, bindDn: 'CN=other,CN=Users,DC=acme,DC=test' }), true);
  });
});
