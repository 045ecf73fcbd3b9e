//! `GET /api/v1/stats/tokens`: what listing every offered upstream tool would cost an agent
//! against what a `retrieve_tools` answer costs, with everything counted since start and
//! each kept session's total (the Go original's token-savings statistics, and more).

use std::collections::BTreeMap;

use super::{App, AppError};
use crate::tokens::TokenTotals;

/// Where `average_query_result_size` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuerySizeSource {
    /// The mean of the `retrieve_tools` answers counted since start.
    Observed,
    /// None counted yet: a full answer listing the first `tools_limit` tools.
    Estimate,
}

/// The token statistics.
#[derive(Debug, Clone)]
pub struct TokenStats {
    /// Tokens of each offered server's tools as a `tools/list` result.
    pub per_server: BTreeMap<String, u64>,
    /// Their sum.
    pub total_list: u64,
    /// Tokens of a typical `retrieve_tools` answer.
    pub average_query: u64,
    /// Where `average_query` comes from.
    pub average_source: QuerySizeSource,
    /// Everything counted since start.
    pub totals: TokenTotals,
    /// Each kept session's total.
    pub per_session: BTreeMap<String, u64>,
}

impl TokenStats {
    /// `total_list - average_query`, never below 0.
    pub fn saved(&self) -> u64 {
        self.total_list.saturating_sub(self.average_query)
    }

    /// [`saved`](Self::saved) as a percentage of the whole listing (0 without tools).
    pub fn saved_percentage(&self) -> f64 {
        if self.total_list == 0 {
            return 0.0;
        }
        self.saved() as f64 * 100.0 / self.total_list as f64
    }
}

impl App {
    /// The token statistics; `estimate` gives the tokens of a typical full `retrieve_tools`
    /// answer when none has been counted yet.
    pub async fn token_stats(
        &self,
        estimate: impl FnOnce() -> u64,
    ) -> Result<TokenStats, AppError> {
        self.meter.flush().await;
        let catalogues: Vec<(String, crate::tokens::Catalogue)> = self.catalog.catalogues();
        self.meter
            .retain_catalogues(|server| catalogues.iter().any(|(s, _)| s == server));
        let per_server: BTreeMap<String, u64> = catalogues
            .iter()
            .map(|(server, tools)| (server.clone(), self.meter.catalogue_cost(server, tools)))
            .collect();
        let totals = self.meter.totals();
        let (average_query, average_source) = match totals.retrieve.answers {
            0 => (estimate(), QuerySizeSource::Estimate),
            n => (totals.retrieve.tokens / n, QuerySizeSource::Observed),
        };
        self.storage.flush().await;
        let keep = self.storage.retention().max_sessions;
        let limit = if keep == 0 { usize::MAX } else { keep };
        let (sessions, _) = self.storage.list_sessions(limit, 0)?;
        Ok(TokenStats {
            total_list: per_server.values().sum(),
            per_server,
            average_query,
            average_source,
            totals,
            per_session: sessions
                .into_iter()
                .map(|s| (s.id, s.total_tokens))
                .collect(),
        })
    }
}
