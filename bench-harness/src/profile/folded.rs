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
use std::path::Path;

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
///
/// With line tables only (`debug = "line-tables-only"`), a function inlined into another is
/// named without its path (`alloc_impl_runtime`); when its source `file` says which crate it
/// is, the standard library's or a registry package's, the name gets that crate
/// (`alloc::alloc_impl_runtime`), so it is still told apart from the program's own frames.
pub fn frame_name(symbol: Option<&[u8]>, file: Option<&Path>) -> String {
    let Some(raw) = symbol else {
        return UNKNOWN_FRAME.to_owned();
    };
    let raw = String::from_utf8_lossy(raw);
    let name = format!("{:#}", rustc_demangle::demangle(&raw));
    if name.is_empty() {
        return UNKNOWN_FRAME.to_owned();
    }
    let name = name.replace(';', ",");
    match file.and_then(crate_of_source) {
        Some(krate) if is_without_path(&name) => format!("{krate}::{name}"),
        _ => name,
    }
}

/// Whether a frame's name is a bare function name (`next`, `try_allocate_in<alloc::alloc::Global>`),
/// not a path (`core::iter::next`) nor a trait method (`<T as Trait>::next`).
pub(crate) fn is_without_path(name: &str) -> bool {
    let before_generics = name.split('<').next().unwrap_or(name);
    !name.starts_with('<') && !before_generics.contains("::")
}

/// The crate whose source `file` is, when its path says: `…/library/<crate>/src/…` for the
/// standard library, `…/registry/src/<index>/<package>-<version>/src/…` for a registry
/// package (its name with `-` made `_`, as in paths).
fn crate_of_source(file: &Path) -> Option<String> {
    let parts: Vec<&str> = file.iter().filter_map(|part| part.to_str()).collect();
    let std_crate = parts
        .windows(3)
        .rev()
        .find(|window| window[0] == "library" && window[2] == "src")
        .map(|window| window[1].to_owned());
    let package = || {
        let registry = parts
            .windows(2)
            .position(|window| window == ["registry", "src"])?;
        let versioned = parts.get(registry + 3)?;
        let name_end = versioned
            .char_indices()
            .find(|&(at, c)| {
                c == '-' && versioned[at + 1..].starts_with(|d: char| d.is_ascii_digit())
            })?
            .0;
        Some(versioned[..name_end].replace('-', "_"))
    };
    std_crate.or_else(package)
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
            frame_name(
                Some(b"_ZN5catga8mediator8Mediator4send17h0123456789abcdefE"),
                None
            ),
            "catga::mediator::Mediator::send"
        );
        assert_eq!(frame_name(Some(b"malloc"), None), "malloc");
        assert_eq!(frame_name(None, None), UNKNOWN_FRAME);
        assert_eq!(
            frame_name(Some("<[u8; 4] as Debug>::fmt".as_bytes()), None),
            "<[u8, 4] as Debug>::fmt"
        );
    }

    #[test]
    fn an_inlined_frame_named_without_a_path_gets_its_crate_from_its_source_file() {
        let named =
            |symbol: &str, file: &str| frame_name(Some(symbol.as_bytes()), Some(Path::new(file)));
        assert_eq!(
            named(
                "alloc_impl_runtime",
                "/rustc/5980761/library/alloc/src/alloc.rs"
            ),
            "alloc::alloc_impl_runtime"
        );
        assert_eq!(
            named(
                "next",
                "/root/.rustup/toolchains/stable/lib/rustlib/src/rust/library/core/src/iter/range.rs"
            ),
            "core::next"
        );
        assert_eq!(
            named(
                "poll",
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-util-0.7.16/src/codec.rs"
            ),
            "tokio_util::poll"
        );
        assert_eq!(
            named(
                "push",
                "/root/.cargo/registry/src/index/smallvec-2.0.0-alpha.1/src/lib.rs"
            ),
            "smallvec::push"
        );
        assert_eq!(
            named(
                "try_allocate_in<alloc::alloc::Global>",
                "/rustc/5980761/library/alloc/src/raw_vec/mod.rs"
            ),
            "alloc::try_allocate_in<alloc::alloc::Global>"
        );
        // The program's own, and names that already carry a path, are left as they are.
        assert_eq!(
            named("profiled_spin", "/work/shop/src/lib.rs"),
            "profiled_spin"
        );
        assert_eq!(
            named(
                "hashbrown::map::HashMap<K,V,S,A>::insert",
                "/root/.cargo/registry/src/index/hashbrown-0.15.2/src/map.rs"
            ),
            "hashbrown::map::HashMap<K,V,S,A>::insert"
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
