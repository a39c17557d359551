//! [`ServiceSet`]: which services this process runs (`run --services a,b,...`).
//!
//! Services can be spread over processes (and machines) that share the broker and the
//! consumer groups: two processes running `strategy_runner` split `market.ticks`'
//! partitions between them. The producer always runs; a consumer runs for each selected
//! service.

use super::catalog;
use std::collections::BTreeSet;

/// The services to run: all, or a named subset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSet(Option<BTreeSet<String>>);

impl ServiceSet {
    /// Every service (the execution services still only when their broker is enabled).
    pub fn all() -> ServiceSet {
        ServiceSet(None)
    }

    /// A comma-separated list of service names.
    ///
    /// # Errors
    /// An empty list, or a name that is not a service (the message lists the services).
    pub fn parse(list: &str) -> Result<ServiceSet, String> {
        let mut names = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if catalog::service(name).is_none() {
                return Err(format!(
                    "--services: unknown service `{name}` (services: {})",
                    all_names()
                ));
            }
            names.insert(name.to_owned());
        }
        if names.is_empty() {
            return Err(format!(
                "--services: name at least one service ({})",
                all_names()
            ));
        }
        Ok(ServiceSet(Some(names)))
    }

    /// Does this process run `service`?
    pub fn runs(&self, service: &str) -> bool {
        self.0.as_ref().is_none_or(|names| names.contains(service))
    }

    /// Was `service` named explicitly (not just included in "all")?
    pub fn names(&self, service: &str) -> bool {
        self.0.as_ref().is_some_and(|names| names.contains(service))
    }
}

fn all_names() -> String {
    catalog::names().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_subset_and_names_unknown_services() {
        let set = ServiceSet::parse("strategy_runner, risk_manager").unwrap();
        assert!(set.runs("strategy_runner") && set.runs("risk_manager"));
        assert!(!set.runs("market_feed"));
        assert!(ServiceSet::all().runs("market_feed"));
        assert_eq!(
            ServiceSet::parse("strategy_runer").unwrap_err(),
            "--services: unknown service `strategy_runer` (services: strategy_runner, \
             risk_manager, paper_execution, zerodha_execution, portfolio_manager, market_feed)"
        );
        assert!(
            ServiceSet::parse(" , ")
                .unwrap_err()
                .contains("at least one")
        );
    }
}
