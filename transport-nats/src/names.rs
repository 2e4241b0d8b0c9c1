//! Streams, subjects and consumer names: which stream holds a subject, what a group may be
//! called, and the consumer name a (group, subject) pair gets.

use catga::{Error, Result};

/// The JetStream stream that stores every event: subjects `catga.events.>`.
pub const EVENTS_STREAM: &str = "CATGA_EVENTS";
/// The subjects [`EVENTS_STREAM`] stores.
pub const EVENTS_SUBJECTS: &str = "catga.events.>";
/// The JetStream stream that stores dead letters: subjects `catga.dead.>`.
pub const DEAD_LETTER_STREAM: &str = "CATGA_DEAD";
/// The subjects [`DEAD_LETTER_STREAM`] stores.
pub const DEAD_LETTER_SUBJECTS: &str = "catga.dead.>";

/// The longest group name: it is part of consumer names (which the file store turns into
/// directory names) and of dead-letter subjects.
pub const MAX_GROUP_LEN: usize = 64;

const EVENTS_PREFIX: &str = "catga.events.";
const DEAD_PREFIX: &str = "catga.dead.";

/// Which stream stores `subject`, with the prefix the stream's subjects share.
pub(crate) fn stream_of(subject: &str) -> Option<(&'static str, &'static str)> {
    if subject.starts_with(EVENTS_PREFIX) {
        Some((EVENTS_STREAM, EVENTS_PREFIX))
    } else if subject.starts_with(DEAD_PREFIX) {
        Some((DEAD_LETTER_STREAM, DEAD_PREFIX))
    } else {
        None
    }
}

/// Refuses a group name that cannot be a NATS consumer name, a queue group or one token of
/// `catga.dead.<group>.<type>`.
pub(crate) fn validate_group(group: &str) -> Result<()> {
    let valid = !group.is_empty()
        && group.len() <= MAX_GROUP_LEN
        && group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "invalid consumer group name `{group}`: use 1 to {MAX_GROUP_LEN} ASCII letters, \
             digits, `-` or `_` (the name becomes NATS consumer names and a token of the \
             dead-letter subject `catga.dead.<group>.<type>`)"
        )))
    }
}

/// Refuses a subject with characters no NATS subject may hold, or an empty token.
pub(crate) fn validate_subject(subject: &str, what: &str) -> Result<()> {
    let bad_char = subject.chars().any(|c| c.is_whitespace() || c.is_control());
    let empty_token = subject.split('.').any(str::is_empty);
    if subject.is_empty() || bad_char || empty_token {
        return Err(Error::validation(format!(
            "invalid {what} subject `{subject}`: NATS subjects are non-empty dot-separated \
             tokens without whitespace"
        )));
    }
    Ok(())
}

/// Whether a message could match both subject patterns (`*` is one token, `>` the rest).
pub(crate) fn patterns_overlap(a: &str, b: &str) -> bool {
    let mut a = a.split('.');
    let mut b = b.split('.');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(">"), Some(_)) | (Some(_), Some(">")) => return true,
            (Some(x), Some(y)) if x == "*" || y == "*" || x == y => {}
            _ => return false,
        }
    }
}

/// The durable consumer of `group` for `subject` (below `prefix`): the group, a readable form of
/// the subject, and a hash of the subject so that two subjects never share a consumer.
///
/// One consumer per subject rather than one per group with several filter subjects, because
/// several filter subjects need nats-server 2.10 and Debian stable ships 2.9.
pub(crate) fn consumer_name(group: &str, prefix: &str, subject: &str) -> String {
    let rest = subject.strip_prefix(prefix).unwrap_or(subject);
    let mut readable = String::with_capacity(rest.len());
    for token in rest.split('.') {
        if !readable.is_empty() {
            readable.push('_');
        }
        match token {
            ">" => readable.push_str("ALL"),
            "*" => readable.push_str("ANY"),
            _ => readable.extend(token.chars().map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })),
        }
    }
    let readable: String = readable.chars().take(48).collect();
    format!("{group}__{readable}__{:08x}", fnv1a(subject.as_bytes()))
}

/// FNV-1a, 32 bits: stable across builds and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_single_tokens_of_safe_characters() {
        assert!(validate_group("billing").is_ok());
        assert!(validate_group("orders-v2_eu").is_ok());
        for bad in ["", "a.b", "a b", "a*", "a>", "ümlaut", &"x".repeat(65)] {
            let error = validate_group(bad).unwrap_err();
            assert!(
                error.message().contains("invalid consumer group name"),
                "{error}"
            );
        }
    }

    #[test]
    fn overlapping_patterns_are_seen() {
        assert!(patterns_overlap("catga.events.>", "catga.events.A"));
        assert!(patterns_overlap("catga.events.*", "catga.events.A"));
        assert!(patterns_overlap("catga.events.A", "catga.events.A"));
        assert!(!patterns_overlap("catga.events.A", "catga.events.B"));
        assert!(!patterns_overlap("catga.events.*", "catga.events.A.B"));
        assert!(!patterns_overlap("catga.events.>", "catga.dead.x.A"));
    }

    #[test]
    fn consumer_names_are_readable_distinct_and_stable() {
        let a = consumer_name("billing", "catga.events.", "catga.events.OrderPlaced");
        assert!(a.starts_with("billing__OrderPlaced__"), "{a}");
        let all = consumer_name("billing", "catga.events.", "catga.events.>");
        assert!(all.starts_with("billing__ALL__"), "{all}");
        let dots = consumer_name("g", "catga.events.", "catga.events.a.b");
        let underscore = consumer_name("g", "catga.events.", "catga.events.a_b");
        assert_ne!(dots, underscore);
        assert_eq!(
            a,
            consumer_name("billing", "catga.events.", "catga.events.OrderPlaced")
        );
    }

    #[test]
    fn subjects_map_to_their_stream() {
        assert_eq!(
            stream_of("catga.events.A").map(|s| s.0),
            Some(EVENTS_STREAM)
        );
        assert_eq!(
            stream_of("catga.dead.g.A").map(|s| s.0),
            Some(DEAD_LETTER_STREAM)
        );
        assert_eq!(stream_of("catga.commands.A"), None);
        assert!(validate_subject("catga..x", "event").is_err());
        assert!(validate_subject("catga.events.a b", "event").is_err());
    }
}
