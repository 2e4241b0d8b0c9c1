//! A scenario's allocations by where they were made ([`AllocationProfile`]): the stacks the
//! counting allocator recorded ([`super::alloc_sites`]), a table of the sites that allocate
//! the most ([`AllocationProfile::sites_text`]), and the bytes as folded stacks for a
//! flamegraph ([`AllocationProfile::bytes_folded`]).
//!
//! A *site* is the innermost frame of an allocation's stack outside the standard library
//! (`std`, `core`, `alloc`, and hashbrown under std's maps): the code that asked, rather than
//! `RawVec::grow_one`.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::folded::{Folded, UNKNOWN_FRAME};

/// Rows of the sites table; the rest are summed in one line.
pub const TABLE_ROWS: usize = 30;

/// Allocations and the bytes they asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub bytes: u64,
}

impl Tally {
    /// Counts one allocation of `bytes`.
    pub(crate) fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }
}

/// The allocations made at one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationStack {
    /// Outermost first; the allocator's own frames are cut off.
    pub frames: Vec<String>,
    pub count: u64,
    pub bytes: u64,
}

/// Every allocation of a recording pass, by stack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationProfile {
    /// Operations the pass ran.
    pub ops: u64,
    /// Each distinct stack, the most bytes first.
    pub stacks: Vec<AllocationStack>,
    /// Allocations whose stack found the table full: counted, not placed.
    pub unplaced: Tally,
}

/// One row of the sites table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The innermost frame outside the standard library.
    pub site: String,
    /// The frame that called it, outside the standard library too, if any.
    pub caller: Option<String>,
    pub tally: Tally,
}

impl AllocationProfile {
    /// The profile of `ops` operations, its stacks sorted by bytes, then count, then frames.
    pub fn new(ops: u64, mut stacks: Vec<AllocationStack>, unplaced: Tally) -> AllocationProfile {
        stacks.sort_by(|a, b| {
            (b.bytes, b.count)
                .cmp(&(a.bytes, a.count))
                .then_with(|| a.frames.cmp(&b.frames))
        });
        AllocationProfile {
            ops,
            stacks,
            unplaced,
        }
    }

    /// Every allocation of the pass, placed or not.
    pub fn total(&self) -> Tally {
        self.stacks
            .iter()
            .fold(self.unplaced, |total, stack| Tally {
                count: total.count + stack.count,
                bytes: total.bytes + stack.bytes,
            })
    }

    /// The bytes allocated at each stack, for a flamegraph of bytes.
    pub fn bytes_folded(&self) -> Folded {
        let mut folded = Folded::new();
        for stack in &self.stacks {
            folded.add(stack.frames.iter().map(String::as_str), stack.bytes);
        }
        folded
    }

    /// The allocations by (site, caller), the most bytes first.
    pub fn sites(&self) -> Vec<Site> {
        let mut sites: HashMap<(String, Option<String>), Tally> = HashMap::new();
        for stack in &self.stacks {
            let (site, caller) = site_of(&stack.frames);
            let tally = sites.entry((site, caller)).or_default();
            tally.count += stack.count;
            tally.bytes += stack.bytes;
        }
        let mut sites: Vec<Site> = sites
            .into_iter()
            .map(|((site, caller), tally)| Site {
                site,
                caller,
                tally,
            })
            .collect();
        sites.sort_by(|a, b| {
            (b.tally.bytes, b.tally.count)
                .cmp(&(a.tally.bytes, a.tally.count))
                .then_with(|| (&a.site, &a.caller).cmp(&(&b.site, &b.caller)))
        });
        sites
    }

    /// The sites table of scenario `name`, per operation.
    pub fn sites_text(&self, name: &str) -> String {
        let total = self.total();
        let ops = self.ops.max(1) as f64;
        let per_op = |value: u64| value as f64 / ops;
        let mut text = format!(
            "allocation sites of `{name}`: {:.2} allocations and {:.1} bytes per operation, \
             over {} operations\n\
             every allocation of a pass of its own, by the innermost frame outside std, core \
             and alloc\n\n",
            per_op(total.count),
            per_op(total.bytes),
            self.ops
        );
        if total.count == 0 {
            text.push_str("no allocation\n");
            return text;
        }
        let _ = writeln!(
            text,
            "{:>11} {:>11} {:>6}  site",
            "allocs/op", "bytes/op", "bytes"
        );
        let sites = self.sites();
        let share = |bytes: u64| {
            if total.bytes == 0 {
                0.0
            } else {
                100.0 * bytes as f64 / total.bytes as f64
            }
        };
        for site in sites.iter().take(TABLE_ROWS) {
            let _ = writeln!(
                text,
                "{:>11.2} {:>11.1} {:>5.1}%  {}",
                per_op(site.tally.count),
                per_op(site.tally.bytes),
                share(site.tally.bytes),
                site.site
            );
            if let Some(caller) = &site.caller {
                let _ = writeln!(text, "{:31}  called from {caller}", "");
            }
        }
        let rest = sites
            .iter()
            .skip(TABLE_ROWS)
            .fold(self.unplaced, |sum, site| Tally {
                count: sum.count + site.tally.count,
                bytes: sum.bytes + site.tally.bytes,
            });
        if rest.count > 0 {
            let _ = writeln!(
                text,
                "{:>11.2} {:>11.1} {:>5.1}%  (the other {} sites{})",
                per_op(rest.count),
                per_op(rest.bytes),
                share(rest.bytes),
                sites.len().saturating_sub(TABLE_ROWS),
                if self.unplaced.count > 0 {
                    ", and stacks beyond the recorder's table"
                } else {
                    ""
                }
            );
        }
        text
    }
}

/// The site of a stack (outermost first) and its caller: the innermost frame outside the
/// standard library, and the next one out. A stack of library frames only is its innermost.
fn site_of(frames: &[String]) -> (String, Option<String>) {
    let mut own = frames.iter().rev().filter(|frame| !is_library_frame(frame));
    match own.next() {
        Some(site) => (site.clone(), own.next().cloned()),
        None => (
            frames
                .last()
                .cloned()
                .unwrap_or_else(|| UNKNOWN_FRAME.to_owned()),
            None,
        ),
    }
}

/// A frame of the standard library (or of hashbrown, which std's maps are), or one without a
/// name. A trait method (`<Type as Trait>::method`) is the library's when the trait is and the
/// type is the library's or a built-in one (`<u64 as SpecFromElem>`, `<T as ToString>`): a
/// `Clone` derived for a program's type is the program's.
fn is_library_frame(name: &str) -> bool {
    let is_std_path = |path: &str| {
        ["std::", "core::", "alloc::", "hashbrown::"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
    };
    if name == UNKNOWN_FRAME {
        return true;
    }
    match name
        .strip_prefix('<')
        .and_then(|rest| rest.split_once(" as "))
    {
        Some((self_type, trait_path)) => {
            let self_type = self_type.trim_start_matches(['&', '*', ' ']);
            let self_type = self_type
                .strip_prefix("mut ")
                .or_else(|| self_type.strip_prefix("const "))
                .unwrap_or(self_type);
            is_std_path(trait_path) && (is_std_path(self_type) || !self_type.contains("::"))
        }
        None => is_std_path(name.trim_start_matches('<')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(frames: &str, count: u64, bytes: u64) -> AllocationStack {
        AllocationStack {
            frames: frames.split(';').map(str::to_owned).collect(),
            count,
            bytes,
        }
    }

    fn profile() -> AllocationProfile {
        AllocationProfile::new(
            10,
            vec![
                stack("main;op;Mediator::send;alloc::boxed::Box<T>::new", 10, 160),
                stack(
                    "main;op;make_key;<alloc::string::String as core::clone::Clone>::clone",
                    20,
                    640,
                ),
                stack(
                    "main;op;make_key;alloc::raw_vec::RawVec<T,A>::grow_one",
                    10,
                    200,
                ),
            ],
            Tally { count: 0, bytes: 0 },
        )
    }

    #[test]
    fn sites_are_the_innermost_frames_outside_std_with_their_callers() {
        let sites = profile().sites();
        assert_eq!(sites.len(), 2);
        assert_eq!(sites[0].site, "make_key");
        assert_eq!(sites[0].caller.as_deref(), Some("op"));
        assert_eq!(
            sites[0].tally,
            Tally {
                count: 30,
                bytes: 840
            }
        );
        assert_eq!(sites[1].site, "Mediator::send");
        for library in [
            "alloc::raw_vec::RawVec<T,A>::grow_one",
            "<u64 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
            "<alloc::vec::Vec<T,A> as core::clone::Clone>::clone",
            "<&str as alloc::string::ToString>::to_string",
            UNKNOWN_FRAME,
        ] {
            assert!(is_library_frame(library), "{library}");
        }
        for own in [
            "<catga::Envelope as core::clone::Clone>::clone",
            "catga::mediator::Mediator::send::{{closure}}",
            "<catga::Mediator>::send",
        ] {
            assert!(!is_library_frame(own), "{own}");
        }
        let only_std = site_of(&["alloc::raw_vec::finish_grow".to_owned()]);
        assert_eq!(only_std, ("alloc::raw_vec::finish_grow".to_owned(), None));
    }

    #[test]
    fn the_table_is_per_operation_with_each_sites_share_of_the_bytes() {
        let text = profile().sites_text("send_command");
        assert!(
            text.starts_with(
                "allocation sites of `send_command`: 4.00 allocations and 100.0 bytes per operation, over 10 operations"
            ),
            "{text}"
        );
        assert!(
            text.contains("       3.00        84.0  84.0%  make_key\n"),
            "{text}"
        );
        assert!(text.contains("called from op\n"), "{text}");
        assert!(
            text.contains("       1.00        16.0  16.0%  Mediator::send\n"),
            "{text}"
        );
        let empty = AllocationProfile::new(5, Vec::new(), Tally::default());
        assert!(empty.sites_text("direct_call").ends_with("no allocation\n"));
    }

    #[test]
    fn bytes_fold_by_stack_and_the_total_counts_unplaced_allocations() {
        let mut profile = profile();
        profile.unplaced = Tally { count: 1, bytes: 8 };
        assert_eq!(profile.bytes_folded().total(), 1000);
        assert_eq!(
            profile.total(),
            Tally {
                count: 41,
                bytes: 1008
            }
        );
        assert_eq!(profile.stacks[0].bytes, 640, "the most bytes first");
    }
}
