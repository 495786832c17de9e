// The elevations context's only entrance: what the rest of Stint may use from it.
export { createElevationService } from './elevation-service.ts';
export { createElevationHistory } from './history.ts';
