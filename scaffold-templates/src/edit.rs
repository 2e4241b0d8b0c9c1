//! Reading and editing a project's existing code by syn spans: where modules are declared,
//! where handlers are registered, and which names are taken. Edits are placed in the original
//! text, so everything around them (comments, formatting) stays byte-identical.

use std::path::{Path, PathBuf};

use catga_lints::source::SourceFile;
use catga_lints::{Edit, Span};
use syn::visit::{self, Visit};

use crate::ScaffoldError;

/// A parsed source file of the project.
#[derive(Debug)]
pub struct ParsedFile {
    /// Relative to the project root.
    pub path: PathBuf,
    /// Its text and line index.
    pub source: SourceFile,
    /// Its syntax tree.
    pub syntax: syn::File,
}

impl ParsedFile {
    /// Parses `text`, the file at `path` (relative to the project root).
    pub fn parse(path: impl Into<PathBuf>, text: String) -> Result<ParsedFile, ScaffoldError> {
        let path = path.into();
        let syntax = syn::parse_file(&text).map_err(|error| {
            let at = error.span().start();
            ScaffoldError::Parse {
                path: path.clone(),
                message: format!("line {}: {error}", at.line),
            }
        })?;
        Ok(ParsedFile {
            source: SourceFile::new(path.clone(), text),
            path,
            syntax,
        })
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.source.text
    }

    /// The leading whitespace of the line holding `offset`.
    fn indent_at(&self, offset: usize) -> &str {
        let text = self.text();
        let line_start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
        let line = &text[line_start..];
        &line[..line.len() - line.trim_start().len()]
    }
}

/// A type (struct, enum, union, alias or trait) the file defines, and its line.
pub fn defined_types(file: &ParsedFile) -> Vec<(String, usize)> {
    struct Types<'a> {
        file: &'a ParsedFile,
        found: Vec<(String, usize)>,
    }
    impl Types<'_> {
        fn add(&mut self, ident: &syn::Ident) {
            let line = self.file.source.span_of(ident).start_pos.line as usize;
            self.found.push((ident.to_string(), line));
        }
    }
    impl<'ast> Visit<'ast> for Types<'_> {
        fn visit_item(&mut self, item: &'ast syn::Item) {
            match item {
                syn::Item::Struct(item) => self.add(&item.ident),
                syn::Item::Enum(item) => self.add(&item.ident),
                syn::Item::Union(item) => self.add(&item.ident),
                syn::Item::Type(item) => self.add(&item.ident),
                syn::Item::Trait(item) => self.add(&item.ident),
                _ => {}
            }
            visit::visit_item(self, item);
        }
    }
    let mut types = Types {
        file,
        found: Vec::new(),
    };
    types.visit_file(&file.syntax);
    types.found
}

/// The edit that declares `pub mod name;` in `file`, beside its other file modules and in
/// their alphabetical order (as rustfmt keeps them); `None` when `name` is already declared.
pub fn declare_module(file: &ParsedFile, name: &str) -> Result<Option<Edit>, ScaffoldError> {
    let modules: Vec<&syn::ItemMod> = file
        .syntax
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(module) => Some(module),
            _ => None,
        })
        .collect();
    if let Some(existing) = modules.iter().find(|module| module.ident == name) {
        if existing.content.is_some() {
            return Err(ScaffoldError::project(format!(
                "`{}` declares `mod {name}` inline; move it to its own file (src/.../{name}.rs) \
                 so catga add can extend it",
                file.path.display()
            )));
        }
        return Ok(None);
    }
    let declaration = format!("pub mod {name};");
    let file_modules: Vec<&&syn::ItemMod> = modules
        .iter()
        .filter(|module| module.content.is_none())
        .collect();
    if let Some(next) = file_modules
        .iter()
        .find(|module| module.ident.to_string().as_str() > name)
    {
        let span = item_span(file, next);
        let indent = file.indent_at(span.start);
        let line_start = span.start - indent.len();
        let at = file.source.span_of_bytes(line_start, line_start);
        return Ok(Some(Edit::insert_before(
            at,
            format!("{indent}{declaration}\n"),
        )));
    }
    if let Some(last) = file_modules.last() {
        let span = item_span(file, last);
        return Ok(Some(Edit::insert_after(span, format!("\n{declaration}"))));
    }
    // No module yet: before the first item, after the file's inner docs and attributes.
    match file.syntax.items.first() {
        Some(first) => {
            let span = item_span(file, first);
            Ok(Some(Edit::insert_before(
                span,
                format!("{declaration}\n\n"),
            )))
        }
        None => {
            let end = file.text().len();
            let at = file.source.span_of_bytes(end, end);
            let separator = if file.text().is_empty() || file.text().ends_with("\n\n") {
                ""
            } else if file.text().ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            Ok(Some(Edit::insert_after(
                at,
                format!("{separator}{declaration}\n"),
            )))
        }
    }
}

/// An item's span, from its first outer attribute (doc comments included) to its end.
fn item_span(file: &ParsedFile, item: &impl syn::spanned::Spanned) -> Span {
    file.source.span_of(item)
}

/// A `Mediator::builder() ... .build()` chain: where handlers are registered.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The file holding it, relative to the project root.
    pub path: PathBuf,
    /// The line of `Mediator::builder()`.
    pub line: usize,
    /// Where a new registration goes, and the text around it: `(offset, prefix)`, where the
    /// prefix is a newline and the chain's indentation, or nothing for a one-line chain.
    insert_at: usize,
    prefix: String,
    /// The function it is in, when that is a public free function without parameters that
    /// returns the mediator (`Some(("mediator", true))` for `fn mediator() -> Result<Mediator>`).
    pub builder_fn: Option<(String, bool)>,
}

impl Registration {
    /// The edit registering `call` (`.handler(..)` or `.event_handler(..)`) after the chain's
    /// last registration.
    pub fn edit(&self, file: &ParsedFile, call: &str) -> Edit {
        let at = file.source.span_of_bytes(self.insert_at, self.insert_at);
        Edit::insert_after(at, format!("{}{call}", self.prefix))
    }
}

/// Every `Mediator::builder()` chain ending in `.build()` in `file`.
pub fn registrations(file: &ParsedFile) -> Vec<Registration> {
    struct Chains<'a> {
        file: &'a ParsedFile,
        /// The enclosing free function: name, public without parameters, returns a `Result`.
        function: Option<(String, bool, Option<bool>)>,
        found: Vec<Registration>,
    }
    impl<'ast> Visit<'ast> for Chains<'_> {
        fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
            let outer = self.function.take();
            let returns = match &item.sig.output {
                syn::ReturnType::Type(_, ty) => last_segment(ty),
                syn::ReturnType::Default => None,
            };
            let usable = matches!(item.vis, syn::Visibility::Public(_))
                && item.sig.inputs.is_empty()
                && item.sig.asyncness.is_none();
            let returns_result = match returns.as_deref() {
                Some("Result") => Some(true),
                Some("Mediator") => Some(false),
                _ => None,
            };
            self.function = Some((item.sig.ident.to_string(), usable, returns_result));
            visit::visit_item_fn(self, item);
            self.function = outer;
        }

        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            if call.method == "build"
                && let Some(registration) = chain(self.file, call, self.function.as_ref())
            {
                self.found.push(registration);
                return;
            }
            visit::visit_expr_method_call(self, call);
        }
    }
    let mut chains = Chains {
        file,
        function: None,
        found: Vec::new(),
    };
    chains.visit_file(&file.syntax);
    chains.found
}

fn last_segment(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The registration point of the chain ending in `build`, if its root is `Mediator::builder()`.
fn chain(
    file: &ParsedFile,
    build: &syn::ExprMethodCall,
    function: Option<&(String, bool, Option<bool>)>,
) -> Option<Registration> {
    // The calls from the outermost (`build`) inwards.
    let mut calls = vec![build];
    let mut receiver = &*build.receiver;
    while let syn::Expr::MethodCall(call) = receiver {
        calls.push(call);
        receiver = &call.receiver;
    }
    let syn::Expr::Call(root) = receiver else {
        return None;
    };
    let syn::Expr::Path(func) = &*root.func else {
        return None;
    };
    let segments: Vec<String> = func
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segments.ends_with(&["Mediator".to_string(), "builder".to_string()]) {
        return None;
    }
    calls.reverse();
    // The anchor is the last registration, or the builder call itself; the next call in the
    // chain shows how the chain is laid out.
    let last_registration = calls
        .iter()
        .rposition(|call| call.method == "handler" || call.method == "event_handler");
    let (anchor_end, next) = match last_registration {
        Some(index) => (file.source.span_of(calls[index]).end, calls[index + 1]),
        None => (file.source.span_of(root).end, calls[0]),
    };
    let next_dot = file.source.span_of(&next.method).start;
    let next_on_own_line = file.text()[anchor_end..next_dot].contains('\n');
    let prefix = if next_on_own_line {
        format!("\n{}", file.indent_at(next_dot))
    } else {
        String::new()
    };
    Some(Registration {
        path: file.path.clone(),
        line: file.source.span_of(root).start_pos.line as usize,
        insert_at: anchor_end,
        prefix,
        builder_fn: function.and_then(|(name, usable, returns_result)| {
            usable.then_some(())?;
            returns_result.map(|result| (name.clone(), result))
        }),
    })
}

/// Whether `path` is the crate root among `src/lib.rs` and `src/main.rs`.
pub fn is_crate_root(path: &Path) -> bool {
    path == Path::new("src/lib.rs") || path == Path::new("src/main.rs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use catga_lints::apply_edits;

    fn parsed(text: &str) -> ParsedFile {
        ParsedFile::parse("src/lib.rs", text.to_string()).expect("parses")
    }

    fn with(file: &ParsedFile, edit: Edit) -> String {
        apply_edits(file.text(), [&edit]).expect("fits")
    }

    #[test]
    fn modules_are_declared_in_alphabetical_order() {
        let file = parsed(
            "//! Docs.\n\npub mod alpha;\n/// Docs of gamma.\npub mod gamma;\n\nfn f() {}\n",
        );
        let edit = declare_module(&file, "beta").expect("ok").expect("an edit");
        assert_eq!(
            with(&file, edit),
            "//! Docs.\n\npub mod alpha;\npub mod beta;\n/// Docs of gamma.\npub mod gamma;\n\nfn f() {}\n"
        );
        let edit = declare_module(&file, "zeta").expect("ok").expect("an edit");
        assert!(with(&file, edit).contains("pub mod gamma;\npub mod zeta;\n\nfn f"));
        assert!(declare_module(&file, "alpha").expect("ok").is_none());
    }

    #[test]
    fn a_file_without_modules_gets_one_before_its_first_item() {
        let file = parsed("//! Docs.\n\nuse std::fmt;\n");
        let edit = declare_module(&file, "orders")
            .expect("ok")
            .expect("an edit");
        assert_eq!(
            with(&file, edit),
            "//! Docs.\n\npub mod orders;\n\nuse std::fmt;\n"
        );
        let empty = parsed("//! Only docs.\n");
        let edit = declare_module(&empty, "orders")
            .expect("ok")
            .expect("an edit");
        assert_eq!(with(&empty, edit), "//! Only docs.\n\npub mod orders;\n");
    }

    #[test]
    fn an_inline_module_cannot_be_extended() {
        let file = parsed("mod orders { }\n");
        assert!(declare_module(&file, "orders").is_err());
    }

    #[test]
    fn registrations_go_after_the_last_handler_in_the_chains_layout() {
        let file = parsed(
            "pub fn mediator() -> catga::Result<Mediator> {\n    Mediator::builder()\n        .handler(A)\n        // Why.\n        .behavior(Validation)\n        .build()\n}\n",
        );
        let found = registrations(&file);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].builder_fn, Some(("mediator".into(), true)));
        let edit = found[0].edit(&file, ".handler(b::B::default())");
        assert!(
            with(&file, edit).contains(
                "        .handler(A)\n        .handler(b::B::default())\n        // Why.\n"
            )
        );

        let one_line = parsed("fn m() { let m = Mediator::builder().build(); }\n");
        let found = registrations(&one_line);
        assert_eq!(found[0].builder_fn, None);
        let edit = found[0].edit(&one_line, ".handler(B)");
        assert!(with(&one_line, edit).contains("Mediator::builder().handler(B).build()"));

        let other = parsed("fn m() { let b = Other::builder().build(); }\n");
        assert!(registrations(&other).is_empty());
    }

    #[test]
    fn defined_types_are_found_in_nested_modules() {
        let file = parsed("struct A;\nmod m {\n    enum B {}\n}\ntype C = u8;\n");
        let names: Vec<(String, usize)> = defined_types(&file);
        assert_eq!(names, [("A".into(), 1), ("B".into(), 3), ("C".into(), 5)]);
    }
}
