//! Folded stacks, the text every flamegraph tool reads (Brendan Gregg's `stackcollapse`
//! output): one line per distinct stack, its frames from the outermost to the innermost joined
//! by `;`, a space, and its count.
//!
//! ```text
//! main;catga_bench::runner::run;catga::mediator::Mediator::send 42
//! ```
//!
//! Frame names are demangled without their hashes, so the same function has the same name in
//! two builds and a baseline's stacks line up with a later run's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The name of a frame whose symbol could not be resolved.
pub const UNKNOWN_FRAME: &str = "[unknown]";

/// Stacks and their counts (samples, allocations or bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Folded {
    /// Each stack as its folded line without the count, with its count.
    stacks: BTreeMap<String, u64>,
}

impl Folded {
    /// No stacks.
    pub fn new() -> Folded {
        Folded::default()
    }

    /// Adds `count` to the stack of `frames`, outermost first. A stack without frames is not
    /// added.
    pub fn add<'a>(&mut self, frames: impl IntoIterator<Item = &'a str>, count: u64) {
        let mut line = String::new();
        for frame in frames {
            if !line.is_empty() {
                line.push(';');
            }
            line.push_str(frame);
        }
        if !line.is_empty() && count > 0 {
            *self.stacks.entry(line).or_default() += count;
        }
    }

    /// The sum of every stack's count.
    pub fn total(&self) -> u64 {
        self.stacks.values().sum()
    }

    /// Whether there is no stack.
    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty()
    }

    /// Each stack (frames joined by `;`) with its count, in the order of the stacks' text.
    pub fn stacks(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.stacks
            .iter()
            .map(|(stack, count)| (stack.as_str(), *count))
    }

    /// Whether a frame named `name` is on some stack.
    pub fn has_frame(&self, name: &str) -> bool {
        self.stacks
            .keys()
            .any(|stack| stack.split(';').any(|frame| frame == name))
    }

    /// The folded text: one `frames count` line per stack.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for (stack, count) in &self.stacks {
            let _ = writeln!(text, "{stack} {count}");
        }
        text
    }

    /// Reads folded text; an empty line is skipped, and a line without a count after its last
    /// space is an error naming its number.
    pub fn parse(text: &str) -> Result<Folded, String> {
        let mut folded = Folded::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            let parsed = line
                .rsplit_once(' ')
                .and_then(|(stack, count)| Some((stack, count.parse::<u64>().ok()?)));
            let Some((stack, count)) = parsed else {
                return Err(format!(
                    "line {} is not `frame;frame;... count`: `{line}`",
                    index + 1
                ));
            };
            if count > 0 {
                *folded.stacks.entry(stack.to_owned()).or_default() += count;
            }
        }
        Ok(folded)
    }
}

/// The name a frame is folded under: the symbol demangled without its hash (`{:#}`), with `;`
/// (which separates frames: Rust writes array types `[u8; 4]`) made `,`; [`UNKNOWN_FRAME`]
/// without a symbol.
pub fn frame_name(symbol: Option<&[u8]>) -> String {
    let Some(raw) = symbol else {
        return UNKNOWN_FRAME.to_owned();
    };
    let raw = String::from_utf8_lossy(raw);
    let name = format!("{:#}", rustc_demangle::demangle(&raw));
    if name.is_empty() {
        UNKNOWN_FRAME.to_owned()
    } else {
        name.replace(';', ",")
    }
}

/// `frames` (innermost first) without the profiler's own frames at their inner end: everything
/// up to the outermost frame, among the first [`TOOL_DEPTH`], that `is_tool` says is the
/// profiler's. The profiler's frames are always the innermost few, so a frame of the same name
/// deeper in the stack is the program's own.
pub(crate) fn without_tool_frames(
    frames: &mut Vec<String>,
    is_tool: impl Fn(&str) -> bool,
) -> usize {
    let cut = frames
        .iter()
        .take(TOOL_DEPTH)
        .rposition(|frame| is_tool(frame))
        .map_or(0, |last| last + 1);
    frames.drain(..cut);
    cut
}

/// How deep into a stack the profiler's own frames may go.
const TOOL_DEPTH: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_fold_into_one_line_each_with_their_counts_summed() {
        let mut folded = Folded::new();
        folded.add(["main", "run", "op"], 3);
        folded.add(["main", "run", "op"], 2);
        folded.add(["main", "idle"], 1);
        folded.add([], 7);
        folded.add(["main", "nothing"], 0);
        assert_eq!(folded.to_text(), "main;idle 1\nmain;run;op 5\n");
        assert_eq!(folded.total(), 6);
        assert!(folded.has_frame("op") && !folded.has_frame("ru"));
    }

    #[test]
    fn folded_text_reads_back_and_a_bad_line_is_named() {
        let mut folded = Folded::new();
        folded.add(["main", "<impl Foo for Bar>::call", "op"], 12);
        folded.add(["main", "other"], 1);
        assert_eq!(Folded::parse(&folded.to_text()).unwrap(), folded);
        let error = Folded::parse("main;a 1\n\nmain;b x\n").unwrap_err();
        assert!(
            error.contains("line 3") && error.contains("main;b x"),
            "{error}"
        );
    }

    #[test]
    fn frame_names_are_demangled_without_hashes_and_never_hold_a_semicolon() {
        assert_eq!(
            frame_name(Some(
                b"_ZN5catga8mediator8Mediator4send17h0123456789abcdefE"
            )),
            "catga::mediator::Mediator::send"
        );
        assert_eq!(frame_name(Some(b"malloc")), "malloc");
        assert_eq!(frame_name(None), UNKNOWN_FRAME);
        assert_eq!(
            frame_name(Some("<[u8; 4] as Debug>::fmt".as_bytes())),
            "<[u8, 4] as Debug>::fmt"
        );
    }

    #[test]
    fn the_profilers_frames_are_cut_from_the_inner_end_only() {
        let mut frames: Vec<String> = ["backtrace::trace", "record", "op", "main"]
            .map(str::to_owned)
            .to_vec();
        let cut = without_tool_frames(&mut frames, |f| f == "backtrace::trace" || f == "record");
        assert_eq!((cut, frames.join(";")), (2, "op;main".to_owned()));
        let mut deep: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
        deep.push("record".to_owned());
        without_tool_frames(&mut deep, |f| f == "record");
        assert_eq!(
            deep.len(),
            41,
            "a frame past the profiler's depth is the program's"
        );
    }
}
