/**
 * The layering rules of src/ (ARCHITECTURE.md, "Layers"). `npm run lint` runs them, and
 * `npm test` runs lint, so a break fails CI. Type-only imports count.
 */
const FAMILIES = '^src/(session|transports|sacsock|endpoints)/';
const SHARED = '^src/(hub|wire|codecs|adapters|http)/';
const TOP = '^src/(server|index|options|cli|redis)\\.ts$|^src/(server|demo|cli|ops)/';

module.exports = {
  forbidden: [
    {
      name: 'family-0.6-imports-another-family',
      comment: 'The 0.6 family (session + transports) never imports sac-sock or the plain endpoints.',
      severity: 'error',
      from: { path: '^src/(session|transports)/' },
      to: { path: '^src/(sacsock|endpoints)/' },
    },
    {
      name: 'family-sacsock-imports-another-family',
      comment: 'sac-sock never imports the 0.6 family or the plain endpoints.',
      severity: 'error',
      from: { path: '^src/sacsock/' },
      to: { path: '^src/(session|transports|endpoints)/' },
    },
    {
      name: 'family-endpoints-imports-another-family',
      comment: 'The plain endpoints never import the 0.6 family or sac-sock.',
      severity: 'error',
      from: { path: '^src/endpoints/' },
      to: { path: '^src/(session|transports|sacsock)/' },
    },
    {
      name: 'shared-imports-a-family-or-the-top',
      comment: 'hub, wire, codecs, adapters and http serve every family: they import none, nor the facade.',
      severity: 'error',
      from: { path: SHARED },
      to: { path: [FAMILIES, TOP] },
    },
    {
      name: 'family-imports-the-top',
      comment: 'A family gets what it needs through the shared layers, never from the facade above it.',
      severity: 'error',
      from: { path: FAMILIES },
      to: { path: TOP },
    },
    {
      name: 'session-imports-transports',
      comment: 'session/ defines the Transport interface that transports/ implements; never the other way.',
      severity: 'error',
      from: { path: '^src/session/' },
      to: { path: '^src/transports/' },
    },
    {
      name: 'codecs-import-more-than-codecs-and-errors',
      comment: 'Codecs are pure: they import only other codecs and the error module.',
      severity: 'error',
      from: { path: '^src/codecs/' },
      to: { path: '^src/', pathNot: ['^src/codecs/', '^src/errors\\.ts$'] },
    },
    {
      name: 'no-circular',
      comment: 'No import cycle, type-only imports included.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
