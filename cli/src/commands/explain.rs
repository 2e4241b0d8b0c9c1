//! `catga explain CODE`: print one rule's documentation, found by code or name in any case.
//! An unknown code names the nearest rule, or lists them all.

use crate::{CommandResult, Outcome, terminal};
use catga_lints::{RuleMeta, output::rules::explain, rule, rules};
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// A rule code (`CATGA005`) or name (`blocking-call-in-async`), in any case
    #[arg(value_name = "CODE")]
    pub(crate) code: String,
}

pub(crate) fn run(args: &ExplainArgs) -> CommandResult {
    let query = args.code.trim();
    let Some(rule) = find(query) else {
        return Err(unknown_rule(query).into());
    };
    terminal::print(&explain(rule))?;
    Ok(Outcome::Clean)
}

/// Codes match in any case in `rule`; names are lowercase, so lowercasing the query covers them.
fn find(query: &str) -> Option<&'static RuleMeta> {
    rule(query).or_else(|| rule(&query.to_ascii_lowercase()))
}

/// The error for a code no rule has: the nearest code or name when one is close, else the list.
fn unknown_rule(query: &str) -> String {
    let lowered = query.to_ascii_lowercase();
    let nearest = rules()
        .iter()
        .flat_map(|rule| {
            [rule.code, rule.name]
                .map(|key| (edit_distance(&lowered, &key.to_ascii_lowercase()), *rule))
        })
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, _)| *distance <= 2.max(lowered.len() / 3));
    match nearest {
        Some((_, rule)) => format!(
            "unknown rule `{query}`\n\n  help: did you mean `{}` ({})?",
            rule.code, rule.name
        ),
        None => {
            let list: Vec<String> = rules()
                .iter()
                .map(|rule| format!("  {}  {}", rule.code, rule.name))
                .collect();
            format!(
                "unknown rule `{query}`; the rules are:\n{}",
                list.join("\n")
            )
        }
    }
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("catga005", "catga005"), 0);
        assert_eq!(edit_distance("catga05", "catga005"), 1);
        assert_eq!(edit_distance("blocking-call", "blocking-calls"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn explain_finds_rules_by_code_or_name_in_any_case() {
        let rule = rules()[0];
        assert_eq!(
            find(&rule.code.to_lowercase()).map(|found| found.code),
            Some(rule.code)
        );
        assert_eq!(
            find(&rule.name.to_uppercase()).map(|found| found.code),
            Some(rule.code)
        );
        assert!(find("CATGA999").is_none());
    }

    #[test]
    fn unknown_rule_suggests_the_nearest_code() {
        let rule = rules()[rules().len() - 1];
        let typo = format!("{}x", rule.code);
        assert!(unknown_rule(&typo).contains(&format!("did you mean `{}`", rule.code)));
        assert!(unknown_rule("completely-unrelated-words").contains("the rules are:"));
    }
}
