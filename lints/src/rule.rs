//! The rule API: what a rule declares, which hooks it gets, and what it can ask and report.
//!
//! # Writing a rule
//!
//! One rule is one file in `src/rules/`, named `catgaNNN_short_name.rs`, holding its metadata,
//! its documentation, its check and its fix. It exports one `pub(crate) static RULE: Rule`, and
//! one line in `src/rules/mod.rs` registers it (in code order).
//!
//! ```ignore
//! use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
//! use crate::{Applicability, Edit, Fix, Severity};
//!
//! pub(crate) static RULE: Rule = Rule {
//!     meta: &RuleMeta {
//!         code: "CATGA042",
//!         name: "my-rule",
//!         severity: Severity::Warning,
//!         fix: FixAvailability::Sometimes,
//!         fix_applicabilities: &[Applicability::Safe],
//!         summary: "One line for `catga rules`",
//!         docs: "## What it does\n...\n## Why is this bad?\n...\n## Example\n...\n\
//!                ## Use instead\n...\n## Fix safety\n...\n## Options\n...",
//!     },
//!     hooks: Hooks { expr: Some(check_expr), ..Hooks::NONE },
//! };
//!
//! fn check_expr(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
//!     let syn::Expr::Call(call) = expr else { return };
//!     if cx.resolve_expr(&call.func).as_deref() != Some("std::thread::sleep") { return; }
//!     let Some(context) = cx.async_context() else { return };
//!     let span = cx.span(call);
//!     let message = format!("std::thread::sleep blocks the executor thread inside {context}");
//!     cx.report(span, message)
//!         .help("use `tokio::time::sleep(..).await`")
//!         .fix(Fix::safe("Replace with `tokio::time::sleep(..).await`", vec![Edit::replace(span, "...")]));
//! }
//! ```
//!
//! ## Hooks
//!
//! The engine walks every file once and calls, for every enabled rule that sets the hook:
//! - [`Hooks::file`]: once per file, before anything else; `cx.file()` is the whole `syn::File`.
//! - [`Hooks::item`]: every item, nested ones included, before entering it (the context is the
//!   enclosing one; use [`RuleCx::handler_kind_of`] to classify an `impl`).
//! - [`Hooks::function`]: every fn with a body (free fns, impl methods, trait default methods),
//!   after entering it: `cx.fn_name()` is this fn, `cx.handler()` tells if it is a handler method,
//!   [`FnSyntax::self_ty`] the type of its impl, and `cx.semantic()` the model the engine built
//!   for it (its parameters bound). A rule whose question is about the whole body (a flow
//!   analysis: a guard alive at an `.await`) scans it here, on a clone of that model, binding
//!   the body's locals as it goes (`bind_local`, `bind_unknown`; `mark`/`reset` per scope).
//! - [`Hooks::block`]: every block (fn bodies, async blocks, closure bodies, nested blocks).
//! - [`Hooks::workspace`]: once per run, after every file was checked, with the
//!   [`WorkspaceIndex`] of every file's facts (for rules whose evidence spans files: "no
//!   builder call anywhere registers this handler"). Report through [`WorkspaceCx::report`],
//!   which names the file; fixes edit that file. Suppression comments apply as usual.
//! - [`Hooks::expr`]: every expression, outermost first. In async and handler code this includes
//!   the comma-separated arguments of common macros (`println!`, `vec!`, `assert!`,
//!   `tokio::join!`, ...) when they parse; elsewhere macro bodies are not re-parsed (cost).
//!
//! ## The context ([`RuleCx`])
//!
//! - Where: [`RuleCx::async_context`] / [`RuleCx::is_async`] (inside an `async fn`, `async` block
//!   or async closure; a plain closure, one passed to `spawn_blocking`, and a nested plain `fn` are
//!   not async; an immediately called closure `(|| ..)()` is as async as its surroundings),
//!   [`RuleCx::in_handler`] / [`RuleCx::handler`] (body of an impl of catga's `Handler`,
//!   `EventHandler` or `Saga`, resolved by name, never in test code), [`RuleCx::in_test`]
//!   (`#[cfg(test)]`, `#[test]`, `#[tokio::test]`, `#![cfg(test)]` files, every file of a
//!   test or bench target), [`RuleCx::in_handler_method`] (a handler impl's method itself, its
//!   closures and async blocks, not a fn nested in it), [`RuleCx::fn_name`] /
//!   [`RuleCx::fn_display_name`], [`RuleCx::fn_returns_result`], and
//!   [`RuleCx::enclosing_exprs`] (the expressions around this one, innermost first: the method
//!   calls a receiver feeds, as ruff's expression stack).
//! - The semantic model, built once per fn by the engine's walk and shared by every rule:
//!   `cx.semantic()` is the model at this point (the locals bound so far, the file's
//!   declarations, the names in scope), whose `chain_of(expr)` gives the layers of an
//!   expression's type when the file declares them (`self.state` of `Arc<Mutex<State>>`, a
//!   parameter, a `let` with a type or a constructor, a static).
//! - Evidence about receivers: [`RuleCx::local`] / [`RuleCx::local_of`] say where a local
//!   variable came from (`let (tx, rx) = std::sync::mpsc::channel()`), [`RuleCx::is_awaited`]
//!   whether the expression is the operand of `.await`, [`crate::semantic::method_chain`] takes
//!   `a.b()?.c()` apart, [`RuleCx::await_allowed`] whether a fix may add `.await` here.
//! - Names: [`RuleCx::resolve`] / [`RuleCx::resolve_expr`] turn a path into the full path it
//!   names (`thread::sleep` after `use std::thread` is `std::thread::sleep`; a local `fn sleep`
//!   is `self::sleep`; `async_trait::async_trait` next to `use async_trait::async_trait;` is the
//!   crate's macro, since a path starts with a module, type or crate, never a fn or macro). Method
//!   calls are syntactic: decide what evidence the receiver must give.
//! - The project: [`RuleCx::settings`] (the validated config), [`RuleCx::depends_on`] (the
//!   crate's manifest lists a dependency; false when there is no manifest),
//!   [`RuleCx::depends_on_feature`] (and enables this feature of it), [`RuleCx::tokio_has`]
//!   (a fix may use `tokio::fs`, `tokio::time`, ...).
//! - Text: [`RuleCx::span`] (span of any syntax node), [`RuleCx::text`], [`RuleCx::source`],
//!   [`RuleCx::file`] (the whole file's syntax).
//!
//! ## Reporting
//!
//! [`RuleCx::report`] records a diagnostic with the rule's code, name and configured severity and
//! returns a builder: `.help(..)` says what to do instead, `.fix(Fix::safe(..))` or
//! `.fix(Fix::unsafe_edits(..))` attaches edits ([`crate::Edit::replace`], `insert_before`,
//! `insert_after`, `delete`). Edits of one fix must not overlap; the engine drops fixes that
//! overlap another, that do not parse after applying, and re-lints until stable. Suppression
//! comments, `--select`/`--ignore` and severity overrides are applied by the engine, never by
//! rules. Messages name the construct and the place; help names the replacement.

use crate::config::Settings;
use crate::context::{AsyncContext, Frame, HandlerKind, ScopeView};
use crate::diagnostic::{Diagnostic, Edit, Fix, Severity, Span};
use crate::file_index::FileIndex;
use crate::resolve::Resolver;
use crate::semantic::{Bindings, LocalOrigin, SemanticModel};
use crate::source::SourceFile;
use crate::workspace::{WorkspaceCx, WorkspaceIndex};
use std::collections::BTreeSet;

/// Whether a rule can fix what it finds (as ruff's `FixAvailability`). How safe each fix is,
/// is the fix's own [`crate::Applicability`]; the rule declares which it may emit in
/// [`RuleMeta::fix_applicabilities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixAvailability {
    /// Never.
    None,
    /// For some sites.
    Sometimes,
    /// For every site.
    Always,
}

impl FixAvailability {
    /// `none`, `sometimes` or `always`, as every output writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FixAvailability::None => "none",
            FixAvailability::Sometimes => "sometimes",
            FixAvailability::Always => "always",
        }
    }
}

/// A rule's identity and documentation, declared in the rule's own file.
#[derive(Debug)]
pub struct RuleMeta {
    /// `CATGA005`.
    pub code: &'static str,
    /// `blocking-call-in-async`.
    pub name: &'static str,
    /// Default severity (config may override).
    pub severity: Severity,
    /// Whether it fixes.
    pub fix: FixAvailability,
    /// Every applicability its fixes may carry, safest first; empty exactly when `fix` is
    /// `None`. A test fails when a rule emits a fix of an applicability not listed here.
    pub fix_applicabilities: &'static [crate::Applicability],
    /// One line, for `catga rules`.
    pub summary: &'static str,
    /// Markdown with the sections "## What it does", "## Why is this bad?", "## Example",
    /// "## Use instead", "## Fix safety", "## Options", in that order.
    pub docs: &'static str,
}

/// Syntax of a fn with a body, whatever kind of item it is.
#[derive(Debug, Clone, Copy)]
pub struct FnSyntax<'a> {
    /// Its attributes.
    pub attrs: &'a [syn::Attribute],
    /// Its signature.
    pub sig: &'a syn::Signature,
    /// Its body.
    pub body: &'a syn::Block,
    /// The `Self` type of the impl it is a method of (`None` for a free fn, a trait's default
    /// method and a fn nested in a body).
    pub self_ty: Option<&'a syn::Type>,
}

impl FnSyntax<'_> {
    /// `Type::name` for a method of an impl whose self type is a path, else `name`.
    pub fn display_name(&self) -> String {
        display_name(&self.sig.ident.to_string(), self.self_ty)
    }
}

/// `Type::name` for method `name` of an impl of `self_ty` when it is a path, else `name`.
fn display_name(name: &str, self_ty: Option<&syn::Type>) -> String {
    match self_ty {
        Some(syn::Type::Path(path)) => match path.path.segments.last() {
            Some(segment) => format!("{}::{name}", segment.ident),
            None => name.to_string(),
        },
        _ => name.to_string(),
    }
}

/// The hooks of a rule; `None` means the rule does not look at that kind of node.
#[derive(Debug, Clone, Copy)]
pub struct Hooks {
    /// Once per file.
    pub file: Option<fn(&mut RuleCx<'_>)>,
    /// Every item, before entering it.
    pub item: Option<fn(&syn::Item, &mut RuleCx<'_>)>,
    /// Every fn with a body, after entering it.
    pub function: Option<fn(&FnSyntax<'_>, &mut RuleCx<'_>)>,
    /// Every block.
    pub block: Option<fn(&syn::Block, &mut RuleCx<'_>)>,
    /// Every expression.
    pub expr: Option<fn(&syn::Expr, &mut RuleCx<'_>)>,
    /// Once per run, after every file, with the workspace index (cross-file rules).
    pub workspace: Option<fn(&WorkspaceIndex<'_>, &mut WorkspaceCx<'_>)>,
}

impl Hooks {
    /// No hooks: the base for `Hooks { expr: Some(check), ..Hooks::NONE }`.
    pub const NONE: Hooks = Hooks {
        file: None,
        item: None,
        function: None,
        block: None,
        expr: None,
        workspace: None,
    };
}

/// A rule: metadata plus hooks. Engine-level codes (CATGA000, CATGA100) have no hooks.
#[derive(Debug)]
pub struct Rule {
    /// Identity and docs.
    pub meta: &'static RuleMeta,
    /// What it looks at.
    pub hooks: Hooks,
}

/// What the engine knows about the file being linted, shared by every hook call.
#[derive(Debug)]
pub struct FileEnv<'a> {
    /// The file.
    pub source: &'a SourceFile,
    /// Validated configuration.
    pub settings: &'a Settings,
    /// Dependency names from the crate's manifest; `None` when the file belongs to no manifest.
    pub dependencies: Option<&'a BTreeSet<String>>,
    /// The file belongs to a test or bench target: all of it is test code.
    pub test_file: bool,
    /// The module the file is (`shop::orders`), for workspace-wide type names.
    pub module: &'a str,
}

/// What a hook can ask and report. See the module docs.
#[derive(Debug)]
pub struct RuleCx<'a> {
    pub(crate) env: &'a FileEnv<'a>,
    pub(crate) file: &'a syn::File,
    pub(crate) file_index: &'a FileIndex<'a>,
    pub(crate) resolver: &'a Resolver,
    pub(crate) frames: &'a [Frame],
    pub(crate) bindings: &'a Bindings<'a>,
    /// The inline module the walk is in (`self::a`).
    pub(crate) module: &'a str,
    /// The `Self` type of the innermost fn's impl.
    pub(crate) self_ty: Option<&'a syn::Type>,
    /// The expressions around this point, outermost first.
    pub(crate) enclosing: &'a [&'a syn::Expr],
    pub(crate) awaited: bool,
    pub(crate) meta: &'static RuleMeta,
    pub(crate) severity: Severity,
    pub(crate) out: &'a mut Vec<Diagnostic>,
}

impl<'a> RuleCx<'a> {
    /// The file's text and path.
    pub fn source(&self) -> &'a SourceFile {
        self.env.source
    }

    /// The validated configuration.
    pub fn settings(&self) -> &'a Settings {
        self.env.settings
    }

    /// Whether the crate's manifest declares dependency `name` (`[dependencies]`, and
    /// `[dev-dependencies]` for tests, benches and examples). False without a manifest.
    pub fn depends_on(&self, name: &str) -> bool {
        self.env
            .dependencies
            .is_some_and(|dependencies| dependencies.contains(name))
    }

    /// Whether the crate's manifest enables `feature` of dependency `name` (`tokio = { ..,
    /// features = ["fs"] }`). Features a `workspace = true` entry inherits count when the run
    /// reads the workspace through cargo metadata; with explicit paths they are not seen.
    pub fn depends_on_feature(&self, name: &str, feature: &str) -> bool {
        self.env
            .dependencies
            .is_some_and(|dependencies| dependencies.contains(&format!("{name}/{feature}")))
    }

    /// Whether code of this crate may use tokio's `feature` module: the manifest enables that
    /// feature or `full` on its tokio dependency.
    pub fn tokio_has(&self, feature: &str) -> bool {
        self.depends_on_feature("tokio", feature) || self.depends_on_feature("tokio", "full")
    }

    /// The span of a syntax node.
    pub fn span(&self, node: &impl syn::spanned::Spanned) -> Span {
        self.env.source.span_of(node)
    }

    /// The edits that make `call` use `replacement` in place of `callee` (its function path or
    /// method name) and await the result: `std::fs::read(p)` becomes `tokio::fs::read(p).await`.
    pub fn awaited_replacement(
        &self,
        call: &impl syn::spanned::Spanned,
        callee: &impl syn::spanned::Spanned,
        replacement: impl Into<String>,
    ) -> Vec<Edit> {
        vec![
            Edit::replace(self.span(callee), replacement),
            Edit::insert_after(self.span(call), ".await"),
        ]
    }

    /// The source text of `span`.
    pub fn text(&self, span: Span) -> &'a str {
        self.env.source.text_of(span)
    }

    /// The whole file's syntax, for a hook that must look beyond its node (the struct a
    /// handler impl names, a `const` a call uses).
    pub fn file(&self) -> &'a syn::File {
        self.file
    }

    /// The semantic model here: the locals visible at this point of the walk (bound once, by
    /// the engine, for every rule), over the file's declarations; what type an expression has
    /// ([`SemanticModel::chain_of`]) and where a local came from.
    pub(crate) fn semantic(&self) -> SemanticModel<'a, 'a> {
        SemanticModel::new(
            self.file_index,
            self.resolver,
            self.module,
            self.self_ty,
            self.bindings,
        )
    }

    /// The full path `path` names here; see [`Resolver::resolve`].
    pub fn resolve(&self, path: &syn::Path) -> Option<String> {
        self.resolver.resolve(path)
    }

    /// The full path a path expression names; `None` for other expressions.
    pub fn resolve_expr(&self, expr: &syn::Expr) -> Option<String> {
        self.resolver.resolve_expr(expr)
    }

    /// The name resolver, for questions beyond `resolve` (such as `is_bound`).
    pub fn resolver(&self) -> &'a Resolver {
        self.resolver
    }

    /// Where the local variable `name` visible here was bound from (`let`, fn and closure
    /// parameters, `for` patterns); `None` for names not bound in the enclosing fn.
    pub fn local(&self, name: &str) -> Option<&'a LocalOrigin> {
        self.bindings.get(name)
    }

    /// [`RuleCx::local`] for an expression that is a plain variable (`rx`); `None` otherwise.
    pub fn local_of(&self, expr: &syn::Expr) -> Option<&'a LocalOrigin> {
        match expr {
            syn::Expr::Path(path) if path.qself.is_none() => {
                self.local(&path.path.get_ident()?.to_string())
            }
            syn::Expr::Paren(paren) => self.local_of(&paren.expr),
            syn::Expr::Reference(reference) => self.local_of(&reference.expr),
            _ => None,
        }
    }

    /// The expressions around the one the hook was called with, innermost first: in
    /// `v.iter().map(f).count()`, around `v.iter()` are `v.iter().map(f)`, then the whole
    /// chain, then what holds it.
    pub fn enclosing_exprs(&self) -> impl Iterator<Item = &'a syn::Expr> + use<'a> {
        self.enclosing.iter().rev().copied()
    }

    /// Whether this is the code of a method of a handler impl (its closures and async blocks
    /// included; not a fn nested in it, not test code).
    pub fn in_handler_method(&self) -> bool {
        self.self_ty.is_some() && self.in_handler()
    }

    /// The innermost fn as messages name it: `Type::name` for a method of an impl whose self
    /// type is a path, else `name`.
    pub fn fn_display_name(&self) -> Option<String> {
        Some(display_name(self.fn_name()?, self.self_ty))
    }

    /// Whether the expression the hook was called with is the operand of `.await`
    /// (`rx.recv()` in `rx.recv().await`). Only meaningful in the `expr` hook.
    pub fn is_awaited(&self) -> bool {
        self.awaited
    }

    /// Whether `.await` may be written here: the innermost fn, closure or block that code
    /// belongs to is async (false inside `(|| ..)()` even in async code).
    pub fn await_allowed(&self) -> bool {
        self.scope().await_allowed()
    }

    fn scope(&self) -> ScopeView<'a> {
        ScopeView {
            frames: self.frames,
        }
    }

    /// The innermost async context around this point, if the code here runs as part of a future.
    pub fn async_context(&self) -> Option<AsyncContext<'a>> {
        self.scope().async_context()
    }

    /// Whether the code here runs as part of a future (see [`RuleCx::async_context`]).
    pub fn is_async(&self) -> bool {
        self.async_context().is_some()
    }

    /// Whether this is handler code: inside an impl of catga's `Handler`, `EventHandler` or
    /// `Saga` that is not test code.
    pub fn in_handler(&self) -> bool {
        self.handler().is_some()
    }

    /// Which catga trait the enclosing handler impl implements (`None` outside handler code).
    pub fn handler(&self) -> Option<HandlerKind> {
        self.scope().handler()
    }

    /// Whether this is test code (`#[cfg(test)]`, `#[test]`, `#[tokio::test]`, ..., and files of
    /// test and bench targets).
    pub fn in_test(&self) -> bool {
        self.scope().in_test()
    }

    /// The handler method here, for messages: "`OrderHandler::handle`", or "`handle` of a
    /// `Handler` impl" when the impl's type is not a plain path.
    pub fn handler_method(&self) -> String {
        let function = self.fn_name().unwrap_or("handler code");
        if let Some(handler) = self.scope().handler_type() {
            return format!("`{handler}::{function}`");
        }
        let kind = match self.handler() {
            Some(HandlerKind::Handler) => "a `Handler`",
            Some(HandlerKind::EventHandler) => "an `EventHandler`",
            Some(HandlerKind::Saga) => "a `Saga`",
            None => "a handler",
        };
        format!("`{function}` of {kind} impl")
    }

    /// The name of the innermost enclosing fn.
    pub fn fn_name(&self) -> Option<&'a str> {
        self.scope().fn_name()
    }

    /// Whether `?` here would return from a fn whose return type is a `Result` (false inside a
    /// closure or async block, where `?` targets that closure or block).
    pub fn fn_returns_result(&self) -> bool {
        self.scope().question_mark_returns_result()
    }

    /// Which catga trait an impl implements, resolved by name here (`None` for other impls, a
    /// local trait that happens to be called `Handler`, and inherent impls).
    pub fn handler_kind_of(&self, item: &syn::ItemImpl) -> Option<HandlerKind> {
        crate::context::handler_kind(self.resolver, item)
    }

    /// Record a diagnostic of this rule at `span`; chain `.help(..)` and `.fix(..)`. In test
    /// code its severity is at most the configured `test_severity`.
    pub fn report(&mut self, span: Span, message: impl Into<String>) -> DiagnosticBuilder<'_> {
        let severity = if self.in_test() {
            self.severity.min(self.env.settings.test_severity)
        } else {
            self.severity
        };
        self.out.push(Diagnostic {
            code: self.meta.code.to_string(),
            name: self.meta.name.to_string(),
            severity,
            message: message.into(),
            path: self.env.source.path.clone(),
            span,
            help: None,
            fix: None,
        });
        let diagnostic = self.out.last_mut().expect("a diagnostic was just pushed");
        DiagnosticBuilder { diagnostic }
    }
}

/// Adds help and a fix to a diagnostic just reported.
#[derive(Debug)]
pub struct DiagnosticBuilder<'a> {
    pub(crate) diagnostic: &'a mut Diagnostic,
}

impl DiagnosticBuilder<'_> {
    /// What to do instead.
    pub fn help(self, help: impl Into<String>) -> Self {
        self.diagnostic.help = Some(help.into());
        self
    }

    /// The rewrite for this site.
    pub fn fix(self, fix: Fix) -> Self {
        self.diagnostic.fix = Some(fix);
        self
    }
}
