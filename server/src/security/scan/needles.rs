//! Every literal the rules look for in the folded text — credential paths, shell payloads,
//! downloaders, markup that closes a description early, URL schemes — found in one pass of
//! one multi-needle automaton (Aho–Corasick) per field, instead of one substring search per
//! needle.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use super::lexicon as lx;
use super::normalise::Folded;

/// Which list of [`lx`] a needle comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// [`lx::SECRET_PATHS`].
    SecretPath,
    /// [`lx::SHELL`].
    Shell,
    /// [`lx::FETCHERS`].
    Fetcher,
    /// [`lx::BREAKOUT`].
    Breakout,
    /// [`lx::SCHEMES`].
    Scheme,
}

const FAMILIES: [(Family, &[&str]); 5] = [
    (Family::SecretPath, lx::SECRET_PATHS),
    (Family::Shell, lx::SHELL),
    (Family::Fetcher, lx::FETCHERS),
    (Family::Breakout, lx::BREAKOUT),
    (Family::Scheme, lx::SCHEMES),
];

/// One occurrence of a needle in the folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// Its list.
    pub family: Family,
    /// Its index in that list.
    pub index: usize,
    /// Folded byte range.
    pub start: usize,
    /// End of that range.
    pub end: usize,
}

struct Needles {
    automaton: Option<AhoCorasick>,
    /// Pattern id → (family, index in the family's list).
    ids: Vec<(Family, usize)>,
}

fn needles() -> &'static Needles {
    static CELL: OnceLock<Needles> = OnceLock::new();
    CELL.get_or_init(|| {
        let ids: Vec<(Family, usize)> = FAMILIES
            .iter()
            .flat_map(|(family, list)| (0..list.len()).map(move |i| (*family, i)))
            .collect();
        let patterns = FAMILIES.iter().flat_map(|(_, list)| list.iter());
        Needles {
            // Building from constant literals cannot fail; `None` would only find nothing.
            automaton: AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .build(patterns)
                .ok(),
            ids,
        }
    })
}

/// Every occurrence of every needle in `f` (overlapping ones too), sorted by family, needle
/// and position — the order of the lists in [`lx`].
pub fn find(f: &Folded) -> Vec<Hit> {
    let n = needles();
    let Some(ac) = &n.automaton else {
        return Vec::new();
    };
    let mut hits: Vec<Hit> = ac
        .find_overlapping_iter(f.text.as_str())
        .map(|m| {
            let (family, index) = n.ids[m.pattern().as_usize()];
            Hit {
                family,
                index,
                start: m.start(),
                end: m.end(),
            }
        })
        .collect();
    hits.sort_unstable();
    hits
}

/// The hits of one family.
pub fn of(hits: &[Hit], family: Family) -> impl Iterator<Item = &Hit> {
    hits.iter().filter(move |h| h.family == family)
}
