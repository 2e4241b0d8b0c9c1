//! The rule registry: every rule, in code order. Adding a rule is one `mod` line and one entry
//! in [`RULES`]; everything else (metadata, docs, check, fix) lives in the rule's own file.

use crate::rule::{Rule, RuleMeta};
use std::sync::LazyLock;

mod catga000_parse_error;
mod catga001_handler_not_registered;
mod catga002_handler_panics;
mod catga003_duplicate_handler;
mod catga004_detached_task;
mod catga005_blocking_call;
mod catga006_boxed_handler_future;
mod catga007_lock_across_await;
mod catga008_unbounded_growth;
mod catga009_inefficient_iterator;
mod catga010_missing_handler_attribute;
mod catga011_handler_timeout_too_long;
mod catga012_sync_io;
mod catga013_missing_idempotency;
mod catga014_saga_state_too_large;
mod catga015_unhandled_event;
mod catga016_blocking_call_through_helper;
mod catga100_unused_allow;

/// Every rule, engine-level codes included, in code order.
pub(crate) static RULES: &[&Rule] = &[
    &catga000_parse_error::RULE,
    &catga001_handler_not_registered::RULE,
    &catga002_handler_panics::RULE,
    &catga003_duplicate_handler::RULE,
    &catga004_detached_task::RULE,
    &catga005_blocking_call::RULE,
    &catga006_boxed_handler_future::RULE,
    &catga007_lock_across_await::RULE,
    &catga008_unbounded_growth::RULE,
    &catga009_inefficient_iterator::RULE,
    &catga010_missing_handler_attribute::RULE,
    &catga011_handler_timeout_too_long::RULE,
    &catga012_sync_io::RULE,
    &catga013_missing_idempotency::RULE,
    &catga014_saga_state_too_large::RULE,
    &catga015_unhandled_event::RULE,
    &catga016_blocking_call_through_helper::RULE,
    &catga100_unused_allow::RULE,
];

/// The code of the parse-error diagnostic the engine emits itself.
pub(crate) use catga000_parse_error::RULE as PARSE_ERROR;
/// The code of the unused-allow diagnostic the engine emits itself.
pub(crate) use catga100_unused_allow::RULE as UNUSED_ALLOW;

static METAS: LazyLock<Vec<&'static RuleMeta>> =
    LazyLock::new(|| RULES.iter().map(|rule| rule.meta).collect());

/// Every rule's metadata, in code order (for `catga rules`, `catga explain`, docs/rules.md).
pub fn rules() -> &'static [&'static RuleMeta] {
    &METAS
}

/// The rule with this code (any case) or name.
pub fn rule(code_or_name: &str) -> Option<&'static RuleMeta> {
    rules()
        .iter()
        .copied()
        .find(|meta| meta.code.eq_ignore_ascii_case(code_or_name) || meta.name == code_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_code_order_without_duplicates() {
        let codes: Vec<&str> = rules().iter().map(|meta| meta.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
    }

    #[test]
    fn every_rule_documents_the_fixed_sections_in_order() {
        let sections = [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "## Fix safety",
            "## Options",
        ];
        for meta in rules() {
            let mut from = 0;
            for section in sections {
                let found = meta.docs[from..].find(section);
                assert!(
                    found.is_some(),
                    "{}: section `{section}` missing or out of order",
                    meta.code
                );
                from += found.unwrap_or(0) + section.len();
            }
            assert!(
                meta.code.starts_with("CATGA") && meta.code.len() == 8,
                "{}",
                meta.code
            );
            assert!(
                !meta.summary.is_empty() && !meta.summary.contains('\n'),
                "{}",
                meta.code
            );
        }
    }

    #[test]
    fn a_rule_declares_applicabilities_exactly_when_it_fixes() {
        for meta in rules() {
            let fixes = meta.fix != crate::rule::FixAvailability::None;
            assert_eq!(
                fixes,
                !meta.fix_applicabilities.is_empty(),
                "{}: `fix: {:?}` with applicabilities {:?}",
                meta.code,
                meta.fix,
                meta.fix_applicabilities
            );
            let mut sorted = meta.fix_applicabilities.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                sorted, meta.fix_applicabilities,
                "{}: list applicabilities once each, safest first",
                meta.code
            );
        }
    }

    #[test]
    fn rules_are_found_by_code_in_any_case_and_by_name() {
        assert_eq!(
            rule("catga005").map(|meta| meta.name),
            Some("blocking-call-in-async")
        );
        assert_eq!(
            rule("sync-io-in-async").map(|meta| meta.code),
            Some("CATGA012")
        );
        assert!(rule("CATGA999").is_none());
    }
}
