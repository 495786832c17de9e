// Layering (docs/architecture.md, Layering): domain ← services ← (http, workers, cli); adapters implement the ports;
// only src/container.ts knows every adapter. Import cycles fail the lint.
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports nothing else from src and does no I/O',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/(?!domain/)' },
    },
    {
      name: 'domain-no-io',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { dependencyTypes: ['core'], path: '^(fs|net|http|https|tls|child_process|dgram|dns)$' },
    },
    { name: 'src-never-imports-workers', severity: 'error', from: { path: '^src/' }, to: { path: '^workers/' } },
    {
      name: 'services-use-ports-only',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: '^src/(adapters|http|cli|container|main)' },
    },
    {
      name: 'contexts-entered-by-index',
      comment: 'a service context (src/services/<context>/) is used from outside only through its index.ts',
      severity: 'error',
      from: { pathNot: '^src/services/(elevations|access|tenants|audit|reviews|slack|siem)/' },
      to: { path: '^src/services/(elevations|access|tenants|audit|reviews|slack|siem)/(?!index\\.ts$)' },
    },
    {
      name: 'contexts-enter-each-other-by-index',
      severity: 'error',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/(elevations|access|tenants|audit|reviews|slack|siem)/(?!index\\.ts$)', pathNot: '^src/services/$1/' },
    },
    {
      name: 'adapters-implement-ports',
      comment: 'adapters may use the domain and the port declarations, nothing above them',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(http|cli|container|main|services/(?!ports/|context\\.ts))' },
    },
    {
      name: 'only-the-container-knows-adapters',
      severity: 'error',
      from: { path: '^src/(http|cli|services|domain|main|lifecycle)' },
      to: { path: '^src/adapters/' },
    },
    {
      name: 'site-trusts-nothing-of-stint',
      comment:
        "the site role (src/site/, docs/site-policy.md) runs on the client's host and enforces the client's limits even against a " +
        'compromised Stint: it uses the pure domain, the port declarations (it answers the directory port over its channel) and ' +
        'the directory adapter (the same tested LDAPS code, rather than a second one); never a service context, http, the cli, ' +
        "Stint's configuration, the container or another adapter. Another adapter is added here only with its reason.",
      severity: 'error',
      from: { path: '^src/site/' },
      to: { path: '^src/(?!domain/|site/|services/ports/|adapters/directory/)' },
    },
    {
      name: 'only-the-cli-starts-the-site',
      comment: 'Stint itself (API, worker, services, http) never depends on the site role; `stint site` in src/cli starts it',
      severity: 'error',
      from: { path: '^(src|workers)/', pathNot: '^src/(site|cli)/' },
      to: { path: '^src/site/' },
    },
    {
      name: 'workers-use-job-contracts-only',
      comment: 'a processor parses its job with the contract in adapters/queue/jobs.ts and calls a service',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^src/adapters/(?!queue/jobs\\.ts)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
    exclude: { path: '^(node_modules|test|bench)/' },
  },
};
