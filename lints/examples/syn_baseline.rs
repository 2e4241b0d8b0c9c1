//! The speed reference for `catga lint`: a bare syn parse-and-visit pass over the same files on
//! the same cores, with no analysis. `scripts/bench-lint.sh` reports the linter's time as a ratio
//! to this one (issue 3, "Speed").
//!
//! Usage: `cargo run --release -p catga-lints --example syn_baseline -- PATH...`
//!
//! Walks each path for `.rs` files (honouring .gitignore like the linter), reads and parses them
//! in parallel with rayon, counts the syntax nodes with a `syn::visit::Visit`, and prints
//! `files lines nodes parse_errors seconds lines_per_second`.

use rayon::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use syn::visit::Visit;

/// Counts the nodes a rule engine would look at, so the visit cannot be optimised away.
#[derive(Debug, Default)]
struct NodeCounter {
    nodes: usize,
}

impl<'ast> Visit<'ast> for NodeCounter {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        self.nodes += 1;
        syn::visit::visit_item(self, item);
    }

    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        self.nodes += 1;
        syn::visit::visit_expr(self, expr);
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        self.nodes += 1;
        syn::visit::visit_stmt(self, stmt);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.nodes += 1;
        syn::visit::visit_path(self, path);
    }
}

/// Per-file result: lines, nodes, and whether syn rejected it.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    files: usize,
    lines: usize,
    nodes: usize,
    errors: usize,
}

impl Tally {
    fn add(self, other: Tally) -> Tally {
        Tally {
            files: self.files + other.files,
            lines: self.lines + other.lines,
            nodes: self.nodes + other.nodes,
            errors: self.errors + other.errors,
        }
    }
}

fn parse_and_visit(path: &PathBuf) -> Tally {
    let Ok(bytes) = std::fs::read(path) else {
        return Tally {
            files: 1,
            errors: 1,
            ..Tally::default()
        };
    };
    let lines = bytes.iter().filter(|&&byte| byte == b'\n').count();
    let parsed = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| syn::parse_file(text).ok());
    match parsed {
        Some(file) => {
            let mut counter = NodeCounter::default();
            counter.visit_file(&file);
            Tally {
                files: 1,
                lines,
                nodes: counter.nodes,
                errors: 0,
            }
        }
        None => Tally {
            files: 1,
            lines,
            nodes: 0,
            errors: 1,
        },
    }
}

fn main() -> ExitCode {
    let roots: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if roots.is_empty() {
        eprintln!("usage: syn_baseline PATH...");
        return ExitCode::from(2);
    }
    let started = Instant::now();
    let mut files = Vec::new();
    for root in &roots {
        for entry in ignore::WalkBuilder::new(root).build() {
            match entry {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                    if is_file && entry.path().extension().is_some_and(|ext| ext == "rs") {
                        files.push(entry.into_path());
                    }
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let tally = files
        .par_iter()
        .map(parse_and_visit)
        .reduce(Tally::default, Tally::add);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "files {} lines {} nodes {} parse_errors {} seconds {:.3} lines_per_second {:.0}",
        tally.files,
        tally.lines,
        tally.nodes,
        tally.errors,
        seconds,
        tally.lines as f64 / seconds
    );
    ExitCode::SUCCESS
}
