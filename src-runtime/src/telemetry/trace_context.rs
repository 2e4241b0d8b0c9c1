//! [`TraceContext`]: the W3C Trace Context (`traceparent`, `tracestate`), parsed and written.

use std::collections::BTreeMap;

/// The header holding the W3C `traceparent`: `00-<trace id>-<parent span id>-<flags>`.
pub const TRACEPARENT: &str = "traceparent";

/// The header holding the W3C `tracestate`: vendor entries, carried along unchanged.
pub const TRACESTATE: &str = "tracestate";

/// The longest `tracestate` carried (the W3C limit); a longer one is dropped.
const MAX_TRACESTATE: usize = 512;

/// Where a message sits in a distributed trace: the trace it belongs to, the span that
/// produced it, and the W3C flags and vendor state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceContext {
    /// The trace, never 0.
    pub trace_id: u128,
    /// The span (the parent of whatever continues from this context), never 0.
    pub span_id: u64,
    /// The W3C trace flags; bit 0 is "sampled".
    pub flags: u8,
    /// The W3C `tracestate`, carried along unchanged.
    pub state: Option<String>,
}

impl TraceContext {
    /// A new trace: random trace and span ids, sampled.
    pub fn new_root() -> TraceContext {
        TraceContext {
            trace_id: fastrand::u128(1..),
            span_id: fastrand::u64(1..),
            flags: 1,
            state: None,
        }
    }

    /// A span of the same trace whose parent is this one: a new span id, the same flags and
    /// state.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            span_id: fastrand::u64(1..),
            ..self.clone()
        }
    }

    /// Whether the trace is sampled (flag bit 0).
    pub fn is_sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// Parses a `traceparent` header (and its `tracestate`, if any), as the W3C Trace Context
    /// recommendation says: `None` for anything invalid (wrong lengths, upper-case or non-hex
    /// digits, version `ff`, all-zero ids). A later version's header is read by its first four
    /// fields.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<TraceContext> {
        let header = traceparent.trim();
        let bytes = header.as_bytes();
        if bytes.len() < 55 || !header.is_ascii() {
            return None;
        }
        let version = hex(&header[0..2])? as u8;
        if version == 0xff {
            return None;
        }
        // Version 00 is exactly 55 characters; later versions may append `-<more>`.
        if (version == 0 && bytes.len() != 55) || (bytes.len() > 55 && bytes[55] != b'-') {
            return None;
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let trace_id = hex(&header[3..35])?;
        let span_id = hex(&header[36..52])? as u64;
        let flags = hex(&header[53..55])? as u8;
        if trace_id == 0 || span_id == 0 {
            return None;
        }
        let state = tracestate
            .map(str::trim)
            .filter(|state| !state.is_empty() && state.len() <= MAX_TRACESTATE)
            .map(str::to_string);
        Some(TraceContext {
            trace_id,
            span_id,
            flags,
            state,
        })
    }

    /// The `traceparent` header's value (version 00).
    pub fn traceparent(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.span_id, self.flags
        )
    }

    /// The trace id as 32 lower-case hex digits, as tracing back ends show it.
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }

    /// The context carried in `headers` ([`TRACEPARENT`], [`TRACESTATE`]), if valid.
    pub fn from_headers(headers: &BTreeMap<String, String>) -> Option<TraceContext> {
        let traceparent = headers.get(TRACEPARENT)?;
        TraceContext::parse(traceparent, headers.get(TRACESTATE).map(String::as_str))
    }

    /// Writes this context into `headers`, replacing any there.
    pub fn inject(&self, headers: &mut BTreeMap<String, String>) {
        headers.insert(TRACEPARENT.to_string(), self.traceparent());
        match &self.state {
            Some(state) => {
                headers.insert(TRACESTATE.to_string(), state.clone());
            }
            None => {
                headers.remove(TRACESTATE);
            }
        }
    }
}

/// Lower-case hex digits only, as W3C requires.
fn hex(digits: &str) -> Option<u128> {
    if digits.is_empty()
        || digits.len() > 32
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u128::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_writes_the_w3c_example() {
        let context = TraceContext::parse(EXAMPLE, Some(" congo=t61rcWkgMzE ")).expect("valid");
        assert_eq!(context.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(context.span_id, 0x00f067aa0ba902b7);
        assert!(context.is_sampled());
        assert_eq!(context.state.as_deref(), Some("congo=t61rcWkgMzE"));
        assert_eq!(context.traceparent(), EXAMPLE);
        assert_eq!(context.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.span_id_hex(), "00f067aa0ba902b7");

        let mut headers = BTreeMap::new();
        context.inject(&mut headers);
        assert_eq!(TraceContext::from_headers(&headers), Some(context));
    }

    #[test]
    fn refuses_invalid_headers() {
        let invalid = [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01",
        ];
        for header in invalid {
            assert_eq!(TraceContext::parse(header, None), None, "{header:?}");
        }
        // A later version may append fields after a dash.
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-next";
        let context = TraceContext::parse(future, None).expect("a later version");
        assert!(!context.is_sampled());
        // A tracestate past the W3C limit is dropped, not the trace.
        let long = "a=".to_string() + &"b".repeat(600);
        assert_eq!(
            TraceContext::parse(EXAMPLE, Some(&long))
                .expect("valid")
                .state,
            None
        );
    }

    #[test]
    fn children_stay_in_the_trace() {
        let root = TraceContext::new_root();
        let child = root.child();
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, 0);
        assert_eq!(child.flags, root.flags);
        assert_eq!(TraceContext::parse(&child.traceparent(), None), Some(child));
    }
}
