//! Imports that fixes left unused. `thread::sleep(d)` rewritten to `tokio::time::sleep(d).await`
//! leaves `use std::thread;` unused, and rustc's `unused_imports` warning then fails a build
//! with `-D warnings`. After a file's fixes, [`prune`] removes the imports whose name was used
//! before the fixes and is used nowhere after them; an import that was already unused is the
//! user's business and stays.
//!
//! Uses are counted as identifier tokens outside `use` items, macro bodies included, so a name
//! is kept whenever anything could still refer to it. Only private, attribute-free `use` items
//! are touched; `pub use`, globs, `self` imports and `_` imports never are.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::HashMap;

/// `after` (the fixed text of a file whose text was `before`) without the imports the fixes
/// made unused; `after` itself when there are none or the pruned text would not parse.
pub(crate) fn prune(before: &str, after: &str) -> String {
    let Ok(file) = syn::parse_file(after) else {
        return after.to_string();
    };
    let (Some(uses_before), Some(uses_after)) = (use_counts(before), use_counts(after)) else {
        return after.to_string();
    };
    let unused = |name: &str| {
        uses_before.get(name).copied().unwrap_or(0) > 0
            && uses_after.get(name).copied().unwrap_or(0) == 0
    };
    let source = crate::source::SourceFile::new("", after);
    let mut deletions: Vec<(usize, usize)> = Vec::new();
    collect_deletions(&file.items, &source, &unused, &mut deletions);
    if deletions.is_empty() {
        return after.to_string();
    }
    deletions.sort_unstable();
    let mut pruned = String::with_capacity(after.len());
    let mut at = 0;
    for (start, end) in deletions {
        if start < at {
            return after.to_string();
        }
        pruned.push_str(&after[at..start]);
        at = end;
    }
    pruned.push_str(&after[at..]);
    let parses = syn::parse_file(&pruned).is_ok();
    proc_macro2::extra::invalidate_current_thread_spans();
    if parses { pruned } else { after.to_string() }
}

/// How many times each identifier appears outside `use` items; `None` when the text does not
/// lex.
fn use_counts(text: &str) -> Option<HashMap<String, usize>> {
    let tokens: TokenStream = text.parse().ok()?;
    let mut counts = HashMap::new();
    count_idents(tokens, &mut counts);
    Some(counts)
}

fn count_idents(tokens: TokenStream, counts: &mut HashMap<String, usize>) {
    let mut in_use = false;
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        // `use<'a, T>` in `impl Trait + use<..>` is not an import.
        let precise_capture =
            matches!(tokens.peek(), Some(TokenTree::Punct(punct)) if punct.as_char() == '<');
        match token {
            TokenTree::Ident(ident) if ident == "use" && !precise_capture => in_use = true,
            TokenTree::Punct(punct) if in_use && punct.as_char() == ';' => in_use = false,
            _ if in_use => {}
            TokenTree::Ident(ident) => *counts.entry(ident.to_string()).or_insert(0) += 1,
            TokenTree::Group(group) => count_idents(group.stream(), counts),
            _ => {}
        }
    }
}

/// Byte ranges to delete so that no import of an `unused` name remains, in `items` and the
/// inline modules among them.
fn collect_deletions(
    items: &[syn::Item],
    source: &crate::source::SourceFile,
    unused: &dyn Fn(&str) -> bool,
    out: &mut Vec<(usize, usize)>,
) {
    for item in items {
        match item {
            syn::Item::Use(item_use)
                if item_use.attrs.is_empty()
                    && matches!(item_use.vis, syn::Visibility::Inherited) =>
            {
                if removable(&item_use.tree, unused) {
                    let span = source.removal_span(source.span_of(item_use));
                    out.push((span.start, span.end));
                } else {
                    prune_tree(&item_use.tree, source, unused, out);
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    collect_deletions(items, source, unused, out);
                }
            }
            _ => {}
        }
    }
}

/// Whether every name `tree` imports is unused (a tree importing nothing removable is not).
fn removable(tree: &syn::UseTree, unused: &dyn Fn(&str) -> bool) -> bool {
    match tree {
        syn::UseTree::Path(path) => removable(&path.tree, unused),
        syn::UseTree::Name(name) => name.ident != "self" && unused(&name.ident.to_string()),
        syn::UseTree::Rename(rename) => rename.rename != "_" && unused(&rename.rename.to_string()),
        syn::UseTree::Glob(_) => false,
        syn::UseTree::Group(group) => {
            !group.items.is_empty() && group.items.iter().all(|tree| removable(tree, unused))
        }
    }
}

/// Deletions inside a tree that stays: whole elements of its groups, each with one comma.
fn prune_tree(
    tree: &syn::UseTree,
    source: &crate::source::SourceFile,
    unused: &dyn Fn(&str) -> bool,
    out: &mut Vec<(usize, usize)>,
) {
    match tree {
        syn::UseTree::Path(path) => prune_tree(&path.tree, source, unused, out),
        syn::UseTree::Group(group) => {
            let elements: Vec<_> = group.items.pairs().collect();
            let kept = elements
                .iter()
                .filter(|pair| !removable(pair.value(), unused))
                .count();
            for (index, pair) in elements.iter().enumerate() {
                let element = pair.value();
                if !removable(element, unused) {
                    prune_tree(element, source, unused, out);
                    continue;
                }
                let span = source.span_of(*element);
                let (start, end) = match pair.punct() {
                    // `a, ` : the element, its comma and the space after it.
                    Some(comma) => {
                        let comma_end = source.span_of(*comma).end;
                        let rest = &source.text[comma_end..];
                        let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                        (span.start, comma_end + spaces)
                    }
                    // The last element: the comma before it goes instead.
                    None if index > 0 && kept > 0 => {
                        let previous = source.span_of(elements[index - 1].value());
                        (previous.end, span.end)
                    }
                    None => (span.start, span.end),
                };
                out.push((start, end));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::prune;

    #[test]
    fn an_import_a_fix_left_unused_is_removed_with_its_line() {
        let before = "use std::thread;\nuse std::time::Duration;\n\nasync fn f() {\n    thread::sleep(Duration::from_millis(1));\n}\n";
        let after = "use std::thread;\nuse std::time::Duration;\n\nasync fn f() {\n    tokio::time::sleep(Duration::from_millis(1)).await;\n}\n";
        assert_eq!(
            prune(before, after),
            "use std::time::Duration;\n\nasync fn f() {\n    tokio::time::sleep(Duration::from_millis(1)).await;\n}\n"
        );
    }

    #[test]
    fn one_name_leaves_a_group_with_its_comma() {
        let before = "use std::{fs, thread, time::Duration};\nfn f() { thread::sleep(Duration::ZERO); fs::read(\"a\"); }\n";
        let after = "use std::{fs, thread, time::Duration};\nfn f() { tokio::time::sleep(Duration::ZERO); fs::read(\"a\"); }\n";
        assert_eq!(
            prune(before, after),
            "use std::{fs, time::Duration};\nfn f() { tokio::time::sleep(Duration::ZERO); fs::read(\"a\"); }\n"
        );
        let last = "use std::{fs, thread};\nfn f() { fs::read(\"a\"); }\n";
        let before_last =
            "use std::{fs, thread};\nfn f() { fs::read(\"a\"); thread::yield_now(); }\n";
        assert_eq!(
            prune(before_last, last),
            "use std::{fs};\nfn f() { fs::read(\"a\"); }\n"
        );
    }

    #[test]
    fn imports_still_used_already_unused_public_or_in_macros_stay() {
        let before = "use std::thread;\npub use std::fs;\nuse std::io::Write;\nuse std::mem;\nfn f() { thread::sleep(d); fs::read(p); }\n";
        let after = "use std::thread;\npub use std::fs;\nuse std::io::Write;\nuse std::mem;\nfn f() { println!(\"{:?}\", thread::current()); }\n";
        assert_eq!(prune(before, after), after);
    }

    #[test]
    fn imports_in_inline_modules_are_pruned_too() {
        let before = "mod a {\n    use std::thread;\n    fn f() { thread::yield_now(); }\n}\n";
        let after = "mod a {\n    use std::thread;\n    fn f() { tokio::task::yield_now(); }\n}\n";
        assert_eq!(
            prune(before, after),
            "mod a {\n    fn f() { tokio::task::yield_now(); }\n}\n"
        );
    }
}
