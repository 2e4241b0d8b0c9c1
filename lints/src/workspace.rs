//! The workspace index: every file's [`FileFacts`] in one place, with the lookups cross-file
//! rules need (which definition a type name means, whether two names mean one type).
//!
//! Built after the per-file pass from facts alone (cached with each file's result), so a warm
//! run answers cross-file rules without parsing anything.
//!
//! Names are matched by workspace-wide path first ([`crate::resolve::Resolver::canonical`]):
//! two `CreateOrder` types in different modules are different types. A name that cannot be
//! placed (a glob import, a re-export the path does not show) falls back to the one
//! definition of that name in the workspace; when several exist the answer is "unknown", and
//! each rule picks the reading that cannot raise a false alarm.

use crate::config::Settings;
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::facts::{FileFacts, HandlerImpl, MessageType, Registration, TypeDef, TypeRef, TypeSite};
use crate::rule::{DiagnosticBuilder, RuleMeta};
use std::collections::HashMap;
use std::path::Path;

/// One file's facts and the path diagnostics show for it.
#[derive(Debug, Clone, Copy)]
pub struct IndexedFile<'a> {
    /// The file, as diagnostics show it.
    pub path: &'a Path,
    /// Its facts.
    pub facts: &'a FileFacts,
}

/// A fact and the file it comes from.
#[derive(Debug)]
pub struct Located<'a, T> {
    /// The file, as diagnostics show it.
    pub path: &'a Path,
    /// The fact.
    pub fact: &'a T,
}

// Copy whatever `T` is: only references are copied (a derive would require `T: Copy`).
impl<T> Clone for Located<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Located<'_, T> {}

/// Whether two type names mean one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameType {
    /// Certainly.
    Yes,
    /// Certainly not.
    No,
    /// Cannot tell (same name, at least one side unplaced, several definitions).
    Unknown,
}

/// The lookups of a [`WorkspaceIndex`] that cost a pass over every file to build: type
/// definitions by workspace-wide path and by name, fns by path. Each entry is a (file, item)
/// position in the files' facts, kept in (file, item) order, so the tables a long-lived
/// workspace updates file by file ([`IndexTables::remove_file`], [`IndexTables::add_file`]) are
/// the ones [`IndexTables::new`] builds from scratch, and every lookup answers the same.
#[derive(Debug, Clone, Default)]
pub struct IndexTables {
    types_by_path: HashMap<String, Vec<(usize, usize)>>,
    types_by_name: HashMap<String, Vec<(usize, usize)>>,
    fns_by_path: HashMap<String, Vec<(usize, usize)>>,
}

impl IndexTables {
    /// The tables of `files` (the file at position `i` is file `i`).
    pub fn new<'f>(files: impl IntoIterator<Item = &'f FileFacts>) -> IndexTables {
        let mut tables = IndexTables::default();
        for (file, facts) in files.into_iter().enumerate() {
            tables.add_file(file, facts);
        }
        tables
    }

    /// Add the entries of file `file`, whose facts are `facts`.
    pub fn add_file(&mut self, file: usize, facts: &FileFacts) {
        self.edit_file(file, facts, |entries, at| {
            if let Err(position) = entries.binary_search(&at) {
                entries.insert(position, at);
            }
        });
    }

    /// Remove the entries of file `file`, whose facts were `facts` when it was added.
    pub fn remove_file(&mut self, file: usize, facts: &FileFacts) {
        self.edit_file(file, facts, |entries, at| {
            if let Ok(position) = entries.binary_search(&at) {
                entries.remove(position);
            }
        });
    }

    /// `edit` on the entry list of every key `facts` has, with the entry's position; a list
    /// left empty goes, so the tables hold exactly the keys of the facts indexed.
    fn edit_file(
        &mut self,
        file: usize,
        facts: &FileFacts,
        edit: impl Fn(&mut Vec<(usize, usize)>, (usize, usize)),
    ) {
        let apply = |table: &mut HashMap<String, Vec<(usize, usize)>>, key: &str, item| {
            // Looked up by `&str` first: a key is allocated only when it is new.
            if !table.contains_key(key) {
                table.insert(key.to_string(), Vec::new());
            }
            let entries = table.get_mut(key).expect("the key was just inserted");
            edit(entries, (file, item));
            if entries.is_empty() {
                table.remove(key);
            }
        };
        for (item, def) in facts.types.iter().enumerate() {
            if let Some(path) = &def.ty.path {
                apply(&mut self.types_by_path, path, item);
            }
            apply(&mut self.types_by_name, &def.ty.name, item);
        }
        for (item, node) in facts.fns.iter().enumerate() {
            apply(&mut self.fns_by_path, &node.path, item);
        }
    }
}

/// Every file's facts, with lookups.
#[derive(Debug)]
pub struct WorkspaceIndex<'a> {
    files: Vec<IndexedFile<'a>>,
    tables: std::borrow::Cow<'a, IndexTables>,
}

impl<'a> WorkspaceIndex<'a> {
    /// Index `files`.
    pub fn new(files: Vec<IndexedFile<'a>>) -> WorkspaceIndex<'a> {
        let tables = IndexTables::new(files.iter().map(|file| file.facts));
        WorkspaceIndex {
            files,
            tables: std::borrow::Cow::Owned(tables),
        }
    }

    /// Index `files` with tables already built for them (kept up to date by the caller, as
    /// [`crate::LiveWorkspace`] does): no pass over the files.
    pub fn with_tables(files: Vec<IndexedFile<'a>>, tables: &'a IndexTables) -> WorkspaceIndex<'a> {
        WorkspaceIndex {
            files,
            tables: std::borrow::Cow::Borrowed(tables),
        }
    }

    /// The one definition among `entries`, if there is exactly one.
    fn only_type(&self, entries: &[(usize, usize)]) -> Option<Located<'a, TypeDef>> {
        match entries {
            &[(file, item)] => {
                let file = self.files[file];
                Some(Located {
                    path: file.path,
                    fact: &file.facts.types[item],
                })
            }
            _ => None,
        }
    }

    /// Every definition of the fn at workspace path `path` (cfg variants may define one
    /// twice), in file order.
    pub fn fn_definitions(&self, path: &str) -> Vec<&'a crate::call_graph::FnNode> {
        self.tables
            .fns_by_path
            .get(path)
            .map(|entries| {
                entries
                    .iter()
                    .map(|&(file, item)| &self.files[file].facts.fns[item])
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The blocking chains of the workspace's call graph, on this index's table of fns.
    pub fn blocking_chains(&self) -> crate::call_graph::BlockingChains<'_> {
        crate::call_graph::BlockingChains::on_index(self)
    }

    /// Every handler, event handler and saga impl.
    pub fn handler_impls(&self) -> impl Iterator<Item = Located<'a, HandlerImpl>> + '_ {
        self.located(|facts| &facts.handler_impls)
    }

    /// Every command, query and event type.
    pub fn message_types(&self) -> impl Iterator<Item = Located<'a, MessageType>> + '_ {
        self.located(|facts| &facts.message_types)
    }

    /// Every registration (builder calls and `#[catga::handler]`).
    pub fn registrations(&self) -> impl Iterator<Item = Located<'a, Registration>> + '_ {
        self.located(|facts| &facts.registrations)
    }

    /// Every fn with a body, with its calls (the workspace's call graph).
    pub fn fns(&self) -> impl Iterator<Item = Located<'a, crate::call_graph::FnNode>> + '_ {
        self.located(|facts| &facts.fns)
    }

    /// Every `.auto_register()` call outside test code.
    pub fn auto_register_calls(&self) -> impl Iterator<Item = Located<'a, Span>> + '_ {
        self.located(|facts| &facts.auto_register_calls)
    }

    /// Every value passed to `.publish(..)` whose type shows.
    pub fn publishes(&self) -> impl Iterator<Item = Located<'a, TypeSite>> + '_ {
        self.located(|facts| &facts.publishes)
    }

    /// Every event type exported to other services (`.export::<E>()`).
    pub fn exports(&self) -> impl Iterator<Item = Located<'a, TypeSite>> + '_ {
        self.located(|facts| &facts.exports)
    }

    /// Every `impl Default for T`.
    pub fn default_impls(&self) -> impl Iterator<Item = Located<'a, TypeRef>> + '_ {
        self.located(|facts| &facts.default_impls)
    }

    /// Every `impl Idempotent for T`.
    pub fn idempotent_impls(&self) -> impl Iterator<Item = Located<'a, TypeRef>> + '_ {
        self.located(|facts| &facts.idempotent_impls)
    }

    fn located<T: 'a>(
        &self,
        list: impl Fn(&'a FileFacts) -> &'a Vec<T> + 'a,
    ) -> impl Iterator<Item = Located<'a, T>> + '_ {
        self.files.iter().flat_map(move |file| {
            list(file.facts).iter().map(|fact| Located {
                path: file.path,
                fact,
            })
        })
    }

    /// The definition `ty` names: the one at its workspace-wide path, else the only one of its
    /// name. `None` for types defined outside the workspace and for ambiguous names.
    pub fn definition(&self, ty: &TypeRef) -> Option<Located<'a, TypeDef>> {
        if let Some(path) = &ty.path
            && let Some(found) = self.tables.types_by_path.get(path.as_str())
        {
            return self.only_type(found);
        }
        self.only_type(self.tables.types_by_name.get(ty.name.as_str())?)
    }

    /// Whether a type is declared at exactly this workspace-wide path.
    pub fn is_defined(&self, path: &str) -> bool {
        self.tables.types_by_path.contains_key(path)
    }

    /// The facts of the file diagnostics show as `path`.
    pub fn file(&self, path: &Path) -> Option<&'a FileFacts> {
        self.files
            .iter()
            .find(|file| file.path == path)
            .map(|file| file.facts)
    }

    /// Whether `a` and `b` name one type.
    pub fn same_type(&self, a: &TypeRef, b: &TypeRef) -> SameType {
        if a.path.is_some() && a.path == b.path {
            return SameType::Yes;
        }
        match (self.definition(a), self.definition(b)) {
            (Some(x), Some(y)) if std::ptr::eq(x.fact, y.fact) => SameType::Yes,
            (Some(_), Some(_)) => SameType::No,
            _ if a.name == b.name => SameType::Unknown,
            // Different names, both placed: a rename (`use x::A as B`) shows in the paths.
            _ if a.path.is_some() && b.path.is_some() => SameType::No,
            _ => SameType::Unknown,
        }
    }

    /// Whether `a` and `b` may name one type (yes or unknown).
    pub fn may_be_same(&self, a: &TypeRef, b: &TypeRef) -> bool {
        self.same_type(a, b) != SameType::No
    }
}

/// What a cross-file rule can ask and report: the index, the settings, and a report that
/// names the file.
#[derive(Debug)]
pub struct WorkspaceCx<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) meta: &'static RuleMeta,
    pub(crate) severity: Severity,
    pub(crate) out: &'a mut Vec<Diagnostic>,
}

impl WorkspaceCx<'_> {
    /// The validated configuration.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// Record a diagnostic of this rule at `span` of the file `path`; chain `.help(..)` and
    /// `.fix(..)` (whose edits apply to that file).
    pub fn report(
        &mut self,
        path: &Path,
        span: Span,
        message: impl Into<String>,
    ) -> DiagnosticBuilder<'_> {
        self.out.push(Diagnostic {
            code: self.meta.code.to_string(),
            name: self.meta.name.to_string(),
            severity: self.severity,
            message: message.into(),
            path: path.to_path_buf(),
            span,
            help: None,
            fix: None,
        });
        let diagnostic = self.out.last_mut().expect("a diagnostic was just pushed");
        DiagnosticBuilder { diagnostic }
    }
}

/// `path:line` for messages that point at another place.
pub fn place(path: &Path, span: Span) -> String {
    format!("{}:{}", path.display(), span.start_pos.line)
}
