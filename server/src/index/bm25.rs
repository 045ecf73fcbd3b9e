//! BM25F scoring: constants and the per-term formula.
//!
//! For a term `t` and tool `d`, the fields' term frequencies are length
//! normalized and weighted into one pseudo-frequency
//! `tf~ = sum_f w_f * tf_f / (1 - b + b * len_f / avglen_f)`, which saturates
//! as `idf(t) * tf~ / (k1 + tf~)`. `df` counts tools containing `t` in any
//! field. Everything here is pure arithmetic on finite, non-negative inputs.

use super::fields::FIELD_COUNT;

/// Term-frequency saturation.
pub(crate) const K1: f64 = 1.2;
/// Length-normalization strength.
pub(crate) const B: f64 = 0.75;
/// Weights of the name, server, description and parameters fields.
pub(crate) const FIELD_WEIGHTS: [f64; FIELD_COUNT] = [3.0, 1.5, 1.0, 0.7];
/// Added when the whole query is the tool's name or `server:name`.
pub(crate) const EXACT_MATCH_BONUS: f64 = 3.0;

/// Collection-wide statistics a query is scored against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CollectionStats {
    /// Number of indexed tools.
    pub doc_count: usize,
    /// Mean token count of each field over all tools.
    pub avg_len: [f64; FIELD_COUNT],
}

/// Robertson-Sparck Jones IDF, floored at zero by the `+ 1`.
pub(crate) fn idf(doc_count: usize, df: usize) -> f64 {
    let n = doc_count as f64;
    let df = (df as f64).min(n);
    ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
}

/// The weighted, length-normalized term frequency of one term in one tool.
pub(crate) fn pseudo_tf(
    tf: &[u16; FIELD_COUNT],
    len: &[u32; FIELD_COUNT],
    stats: &CollectionStats,
) -> f64 {
    let mut total = 0.0;
    for f in 0..FIELD_COUNT {
        if tf[f] == 0 {
            continue;
        }
        let avg = stats.avg_len[f];
        let ratio = if avg > 0.0 {
            f64::from(len[f]) / avg
        } else {
            1.0
        };
        total += FIELD_WEIGHTS[f] * f64::from(tf[f]) / (1.0 - B + B * ratio);
    }
    total
}

/// The saturated contribution of one term to one tool's score.
pub(crate) fn term_score(idf: f64, pseudo_tf: f64) -> f64 {
    idf * pseudo_tf / (K1 + pseudo_tf)
}

#[cfg(test)]
mod tests {
    use super::{CollectionStats, idf, pseudo_tf, term_score};

    const STATS: CollectionStats = CollectionStats {
        doc_count: 100,
        avg_len: [2.0, 1.0, 10.0, 20.0],
    };

    #[test]
    fn rare_terms_weigh_more() {
        assert!(idf(100, 1) > idf(100, 50));
        assert!(idf(100, 100) > 0.0);
        assert!(idf(0, 0) >= 0.0);
        assert!(idf(1, 5).is_finite());
    }

    #[test]
    fn name_beats_description() {
        let lens = [2, 1, 10, 20];
        let in_name = pseudo_tf(&[1, 0, 0, 0], &lens, &STATS);
        let in_description = pseudo_tf(&[0, 0, 1, 0], &lens, &STATS);
        assert!(in_name > in_description);
    }

    #[test]
    fn shorter_fields_and_more_hits_score_higher_but_saturate() {
        let short = pseudo_tf(&[0, 0, 1, 0], &[2, 1, 5, 20], &STATS);
        let long = pseudo_tf(&[0, 0, 1, 0], &[2, 1, 50, 20], &STATS);
        assert!(short > long);
        let once = term_score(2.0, 1.0);
        let often = term_score(2.0, 100.0);
        assert!(often > once && often < 2.0);
    }
}
