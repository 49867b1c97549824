/**
 * Shared types of the drift core (per-feature statistics here; the domain classifier may add its own types
 * below, surgically). Pure data: no behaviour, no imports.
 */

/** A numeric column: NaN is missing; ±Infinity is counted and dropped (see docs/drift.md). */
export type NumericColumn = Float64Array | readonly number[];

/**
 * A numeric sample prepared once: its finite values sorted ascending plus what was dropped. The baseline of a
 * monitor is prepared once and cached, so repeated runs skip its sort.
 */
export interface SortedSample {
  /** Finite values, ascending. */
  readonly sorted: Float64Array;
  /** Rows in the original column (finite + missing + infinite). */
  readonly rows: number;
  /** NaN entries dropped. */
  readonly missing: number;
  /** ±Infinity entries dropped. */
  readonly infinite: number;
  /** Number of distinct finite values. */
  readonly distinct: number;
  /** Mean of the finite values (compensated sum), NaN when there are none. */
  readonly mean: number;
  /** Population standard deviation (ddof = 0) of the finite values, NaN when there are none. */
  readonly std: number;
}

/** A categorical column: strings (null = missing) or dictionary codes (negative = missing) plus the dictionary. */
export type CategoricalColumn =
  readonly (string | null)[] | { readonly codes: Int32Array; readonly dictionary: readonly string[] };

/** Two-sample Kolmogorov–Smirnov result, as `scipy.stats.ks_2samp(a, b)` (two-sided, method 'auto'). */
export interface KsResult {
  /** D (snapped to h/lcm(n1, n2) on the exact path, as scipy does). */
  readonly statistic: number;
  readonly pValue: number;
  /** Which computation produced the p-value. */
  readonly method: 'exact' | 'asymp';
}

/** Per-feature statistics of a numeric column (baseline vs target), computed on finite values. */
export interface NumericDriftMetrics {
  readonly kind: 'numeric';
  readonly baseline: NumericProfile;
  readonly target: NumericProfile;
  /** scipy.stats.wasserstein_distance(baseline, target). */
  readonly wasserstein: number;
  /** Evidently: wasserstein / max(population std of baseline, 0.001). */
  readonly normedWasserstein: number;
  /** scipy.stats.energy_distance(baseline, target). */
  readonly energy: number;
  readonly ks: KsResult;
  /** Evidently-binned (Sturges on the union when the baseline has > 20 distinct values, else per value). */
  readonly psi: number;
  /** Jensen–Shannon distance on the same bins, base 2 (in [0, 1]). */
  readonly jensenShannon: number;
  /** Same, natural log (Evidently's default, in [0, √ln 2]). */
  readonly jensenShannonLn: number;
}

export interface NumericProfile {
  readonly rows: number;
  /** Finite values used. */
  readonly count: number;
  readonly missing: number;
  readonly infinite: number;
  readonly distinct: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation (ddof = 0). */
  readonly std: number;
}

/** Per-feature statistics of a categorical column. */
export interface CategoricalDriftMetrics {
  readonly kind: 'categorical';
  readonly baseline: CategoricalProfile;
  readonly target: CategoricalProfile;
  /** Azure: Euclidean distance of the frequency vectors over the union of categories, null its own category. */
  readonly euclidean: number;
  /** Evidently binning (null dropped), zero-filled, base e as Evidently. */
  readonly psi: number;
  /** Jensen–Shannon distance of the category shares (null dropped), base 2. */
  readonly jensenShannon: number;
  /** Same, natural log. */
  readonly jensenShannonLn: number;
  /** scipy.stats.chisquare(target counts, baseline counts · n_target/n_baseline) — Evidently's chisquare. */
  readonly chiSquare: { readonly statistic: number; readonly pValue: number; readonly dof: number };
}

export interface CategoricalProfile {
  readonly rows: number;
  readonly missing: number;
  /** Distinct non-null values. */
  readonly unique: number;
}

/** Evidently stat-test names this module implements. */
export type StatTestName = 'ks' | 'chisquare' | 'z' | 'jensenshannon' | 'wasserstein' | 'psi';

/** One column's Evidently-compatible verdict. */
export interface ColumnVerdict {
  readonly column: string;
  readonly columnType: 'numeric' | 'categorical';
  readonly stattest: StatTestName;
  readonly threshold: number;
  /** p-value (ks, chisquare, z) or distance (jensenshannon, wasserstein, psi). */
  readonly score: number;
  readonly drifted: boolean;
}

export interface DatasetVerdict {
  readonly columns: readonly ColumnVerdict[];
  readonly driftedColumns: number;
  readonly share: number;
  readonly driftShare: number;
  readonly datasetDrift: boolean;
}
