/** Per-feature drift statistics (scipy / Evidently compatible). See docs/drift.md. */
export * from './types.js';
export { prepareNumeric, numericDrift, mergeWalk, numericProfile } from './numeric.js';
export { ks2sampPValue, KS_MAX_EXACT_N } from './ks.js';
export { kstwoSf } from './kolmogn.js';
export { smirnov } from './smirnov.js';
export { categoricalDrift, countCategories, chiSquare, evidentlyChiSquare } from './categorical.js';
export { numericBins, sturgesEdges, fillZeroes, psi, jensenShannon } from './binning.js';
export { columnVerdict, datasetVerdict, defaultStatTest, zTestPValue, STATTESTS } from './evidently.js';
export type { VerdictColumn, VerdictOptions } from './evidently.js';
export { chi2Sf, gammaincc, ndtr, erf, erfc, lgamma } from './special.js';
