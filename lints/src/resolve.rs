//! Syntactic name resolution: what a path written in a file refers to.
//!
//! Built from `use` items (groups, renames, `self`, globs of known modules), items declared in
//! the file or block (a local `fn sleep` shadows an import), the std prelude, and fully
//! qualified paths. Scopes nest like Rust's: a block sees its fn's module, an inline `mod` sees
//! only its own items (and its parent's through `use super::*`).
//!
//! Rules ask [`Resolver::resolve`] "what does this path mean?" and get a full path such as
//! `std::thread::sleep`, or `None` when the answer is unknown (a local variable, a name that may
//! come from a glob of an unknown module). Names declared in the file resolve to `self::name`,
//! so they never match an external path.
//!
//! Namespaces: the first segment of a longer path (`a::b`) names a module, a type or a crate,
//! never a fn, const, static or macro. So a binding only starts such a path when it may be one
//! of those ([`Binding::starts_paths`]); otherwise the lookup goes on outwards and ends at the
//! crate of that name, as rustc's does. Declared items tell by their kind. An import does not say
//! what it imports; the one pattern that reliably names a fn or macro is an item imported from
//! a crate of its own name (`use async_trait::async_trait;`, `use log::log;`), where
//! `async_trait::async_trait` then means the crate's item, not `async_trait::async_trait::async_trait`.

use std::collections::HashMap;
use std::fmt::Write as _;

/// Crate roots no glob import shadows in practice (a glob that re-exports `tokio` re-exports
/// the crate): the rules' vocabulary stays resolved beside `use crate::errors::*;`.
const CRATE_ROOTS: &[&str] = &[
    "std",
    "core",
    "alloc",
    "tokio",
    "futures",
    "futures_executor",
    "futures_lite",
    "async_std",
    "async_io",
    "smol",
    "pollster",
    "parking_lot",
    "reqwest",
    "fs_err",
    "walkdir",
    "glob",
];

/// Members of modules whose glob imports (`use std::thread::*`) we can follow.
const KNOWN_GLOB_MEMBERS: &[(&str, &[&str])] = &[
    (
        "std::thread",
        &[
            "sleep",
            "spawn",
            "yield_now",
            "park",
            "scope",
            "Builder",
            "JoinHandle",
        ],
    ),
    (
        "std::fs",
        &[
            "read",
            "read_to_string",
            "write",
            "create_dir",
            "create_dir_all",
            "remove_file",
            "remove_dir",
            "remove_dir_all",
            "rename",
            "copy",
            "metadata",
            "read_dir",
            "canonicalize",
            "hard_link",
            "read_link",
            "set_permissions",
            "symlink_metadata",
            "exists",
            "File",
            "OpenOptions",
        ],
    ),
    (
        "std::sync",
        &[
            "Mutex", "RwLock", "Arc", "mpsc", "Condvar", "Barrier", "Once", "OnceLock",
        ],
    ),
    (
        "std::sync::mpsc",
        &[
            "channel",
            "sync_channel",
            "Receiver",
            "Sender",
            "SyncSender",
        ],
    ),
    ("std::net", &["TcpStream", "TcpListener", "UdpSocket"]),
    ("std::process", &["Command", "Stdio", "Child", "exit"]),
    (
        "std::io",
        &[
            "stdin", "stdout", "stderr", "Read", "Write", "BufRead", "Result", "Error",
        ],
    ),
    ("std::io::prelude", &["Read", "Write", "BufRead", "Seek"]),
    (
        "futures::executor",
        &["block_on", "block_on_stream", "LocalPool", "ThreadPool"],
    ),
    ("tokio::runtime", &["Runtime", "Handle", "Builder"]),
    (
        "tokio::task",
        &[
            "spawn",
            "spawn_blocking",
            "block_in_place",
            "spawn_local",
            "JoinHandle",
        ],
    ),
    (
        "tokio::time",
        &["sleep", "timeout", "interval", "Duration", "Instant"],
    ),
    (
        "parking_lot",
        &[
            "Mutex",
            "RwLock",
            "MutexGuard",
            "RwLockReadGuard",
            "RwLockWriteGuard",
        ],
    ),
    (
        "catga::prelude",
        &[
            "Handler",
            "EventHandler",
            "Mediator",
            "MediatorBuilder",
            "PublishError",
            "Command",
            "Query",
            "Event",
            "Request",
            "Message",
            "Idempotent",
            "Validate",
            "Context",
            "Error",
            "ErrorKind",
            "MessageId",
            "Serialize",
            "Deserialize",
            "Behavior",
            "Next",
            "Reply",
            "AnyMessage",
            "Retry",
            "Timeout",
            "CircuitBreaker",
            "CircuitState",
            "ConcurrencyLimit",
            "MessageCounts",
            "Metrics",
            "RateLimit",
            "Tracing",
            "Validation",
            "Saga",
        ],
    ),
    (
        "catga",
        &[
            "Handler",
            "EventHandler",
            "Saga",
            "Context",
            "Mediator",
            "Command",
            "Query",
            "Event",
            "Request",
            "handler",
        ],
    ),
];

/// Names every Rust module sees without importing them.
const STD_PRELUDE: &[(&str, &str)] = &[
    ("Box", "std::boxed::Box"),
    ("Vec", "std::vec::Vec"),
    ("String", "std::string::String"),
    ("Option", "std::option::Option"),
    ("Some", "std::option::Option::Some"),
    ("None", "std::option::Option::None"),
    ("Result", "std::result::Result"),
    ("Ok", "std::result::Result::Ok"),
    ("Err", "std::result::Result::Err"),
    ("drop", "std::mem::drop"),
    ("Iterator", "std::iter::Iterator"),
    ("IntoIterator", "std::iter::IntoIterator"),
    ("Future", "std::future::Future"),
    ("Send", "std::marker::Send"),
    ("Sync", "std::marker::Sync"),
    ("Default", "std::default::Default"),
    ("Clone", "std::clone::Clone"),
    ("ToString", "std::string::ToString"),
];

/// What a name is bound to in one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Binding {
    /// Where the name comes from.
    origin: Origin,
    /// Whether the name may begin a longer path (`name::x`): it may be a module, a type, a
    /// trait or a crate. A fn, const, static or macro cannot.
    starts_paths: bool,
}

/// Where a bound name comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// Imported: the full path it stands for.
    Import(String),
    /// Declared in this scope (fn, struct, trait, mod, ...).
    Local,
}

impl Binding {
    fn local(starts_paths: bool) -> Binding {
        Binding {
            origin: Origin::Local,
            starts_paths,
        }
    }

    /// An import of `full` under the name `local`. It starts paths unless it is a lowercase
    /// item imported from a crate named like it (`use async_trait::async_trait;`): a crate does
    /// not hold a module of its own name in practice, while a fn or macro so named is common.
    fn import(local: &str, full: String) -> Binding {
        let same_named_item = full.split_once("::").is_some_and(|(crate_name, _)| {
            crate_name == local && full.ends_with(&format!("::{local}"))
        });
        let lowercase = local.starts_with(|c: char| c.is_lowercase() || c == '_');
        Binding {
            starts_paths: !(same_named_item && lowercase),
            origin: Origin::Import(full),
        }
    }
}

/// The names one module or block declares and imports.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    bindings: HashMap<String, Binding>,
    globs: Vec<String>,
    /// A glob of a module we do not know the members of: an unknown single name may come from it.
    unknown_glob: bool,
    /// Whether names of the enclosing scope are visible (blocks: yes; inline modules: no).
    inherits: bool,
    /// The name of the inline module this scope is (`None` for a file or a block).
    module_name: Option<String>,
}

impl Scope {
    /// The scope of a module (file or inline `mod`): its items and imports only.
    pub fn module(items: &[syn::Item]) -> Scope {
        let mut scope = Scope::default();
        for item in items {
            scope.add_item(item);
        }
        scope.expand_relative_imports();
        scope
    }

    /// The scope of the inline module `mod name { items }`.
    pub fn inline_module(name: &syn::Ident, items: &[syn::Item]) -> Scope {
        Scope {
            module_name: Some(name.to_string()),
            ..Scope::module(items)
        }
    }

    /// The scope of a block: its items and imports, on top of the enclosing scope.
    pub fn block(stmts: &[syn::Stmt]) -> Option<Scope> {
        let mut scope = Scope {
            inherits: true,
            ..Scope::default()
        };
        for stmt in stmts {
            if let syn::Stmt::Item(item) = stmt {
                scope.add_item(item);
            }
        }
        if scope.bindings.is_empty() && scope.globs.is_empty() && !scope.unknown_glob {
            return None;
        }
        scope.expand_relative_imports();
        Some(scope)
    }

    fn add_item(&mut self, item: &syn::Item) {
        // (name, whether it lives in the type namespace and so may start a longer path)
        let (name, starts_paths) = match item {
            syn::Item::Use(item_use) => {
                self.add_use_tree(&item_use.tree, &mut Vec::new());
                return;
            }
            syn::Item::Fn(f) => (&f.sig.ident, false),
            syn::Item::Struct(s) => (&s.ident, true),
            syn::Item::Enum(e) => (&e.ident, true),
            syn::Item::Union(u) => (&u.ident, true),
            syn::Item::Trait(t) => (&t.ident, true),
            syn::Item::TraitAlias(t) => (&t.ident, true),
            syn::Item::Type(t) => (&t.ident, true),
            syn::Item::Mod(m) => (&m.ident, true),
            syn::Item::Const(c) => (&c.ident, false),
            syn::Item::Static(s) => (&s.ident, false),
            syn::Item::Macro(m) => match &m.ident {
                Some(ident) => (ident, false),
                None => return,
            },
            syn::Item::ExternCrate(e) => {
                let local = e.rename.as_ref().map_or(&e.ident, |(_, rename)| rename);
                let binding = Binding {
                    origin: Origin::Import(e.ident.to_string()),
                    starts_paths: true,
                };
                self.bindings.insert(local.to_string(), binding);
                return;
            }
            _ => return,
        };
        // A name declared twice (a fn and a module `sleep`) may start paths if either can.
        let binding = self
            .bindings
            .entry(name.to_string())
            .or_insert(Binding::local(starts_paths));
        binding.origin = Origin::Local;
        binding.starts_paths |= starts_paths;
    }

    fn add_use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.add_use_tree(&path.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let ident = name.ident.to_string();
                if ident == "self" {
                    // `use a::b::{self}` imports the module (or enum) `b`: it starts paths.
                    if let Some(last) = prefix.last() {
                        let binding = Binding {
                            origin: Origin::Import(prefix.join("::")),
                            starts_paths: true,
                        };
                        self.bindings.entry(last.clone()).or_insert(binding);
                    }
                } else {
                    let full = join(prefix, &ident);
                    self.bind_import(ident, full);
                }
            }
            syn::UseTree::Rename(rename) => {
                let local = rename.rename.to_string();
                if local == "_" {
                    return;
                }
                let ident = rename.ident.to_string();
                if ident == "self" {
                    let binding = Binding {
                        origin: Origin::Import(prefix.join("::")),
                        starts_paths: true,
                    };
                    self.bindings.entry(local).or_insert(binding);
                } else {
                    self.bind_import(local, join(prefix, &ident));
                }
            }
            syn::UseTree::Glob(_) => {
                let module = prefix.join("::");
                if module == "super" {
                    // `use super::*` (test modules): the parent's names are visible.
                    self.inherits = true;
                } else if KNOWN_GLOB_MEMBERS.iter().any(|(known, _)| *known == module) {
                    self.globs.push(module);
                } else {
                    self.unknown_glob = true;
                }
            }
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.add_use_tree(tree, prefix);
                }
            }
        }
    }

    fn bind_import(&mut self, local: String, full: String) {
        // A declared item wins over an import of the same name (it would not compile otherwise).
        let binding = Binding::import(&local, full);
        self.bindings.entry(local).or_insert(binding);
    }

    /// `use std::thread; use thread::sleep;` (2018 uniform paths): expand imports whose first
    /// segment is another import of the same scope that can start a path (not through
    /// `use async_trait::async_trait;` into `use async_trait::other;`).
    fn expand_relative_imports(&mut self) {
        let mut expansions = Vec::new();
        for (local, binding) in &self.bindings {
            let Origin::Import(full) = &binding.origin else {
                continue;
            };
            let (first, rest) = full.split_once("::").unwrap_or((full.as_str(), ""));
            if let Some(Binding {
                origin: Origin::Import(base),
                starts_paths: true,
            }) = self.bindings.get(first)
                && base != full
                && !base.starts_with(&format!("{full}::"))
            {
                let expanded = if rest.is_empty() {
                    base.clone()
                } else {
                    format!("{base}::{rest}")
                };
                expansions.push((local.clone(), expanded));
            }
        }
        for (local, expanded) in expansions {
            if let Some(binding) = self.bindings.get_mut(&local) {
                binding.origin = Origin::Import(expanded);
            }
        }
    }

    /// What `name` means in this scope; `starts_path` when it is the first segment of a longer
    /// path, where only modules, types and crates count.
    fn lookup(&self, name: &str, starts_path: bool) -> Option<Lookup> {
        match self.bindings.get(name) {
            Some(binding) if starts_path && !binding.starts_paths => {}
            Some(binding) => {
                return Some(match &binding.origin {
                    Origin::Import(full) => Lookup::Path(full.clone()),
                    Origin::Local => Lookup::Local,
                });
            }
            None => {}
        }
        for module in &self.globs {
            let members = KNOWN_GLOB_MEMBERS
                .iter()
                .filter(|(known, _)| known == module);
            if members
                .flat_map(|(_, names)| names.iter())
                .any(|member| *member == name)
            {
                return Some(Lookup::Path(format!("{module}::{name}")));
            }
        }
        self.unknown_glob.then_some(Lookup::Unknown)
    }
}

enum Lookup {
    /// Imported from, or a known glob member of, this full path.
    Path(String),
    /// Declared in the scope itself.
    Local,
    /// Maybe from a glob of a module we do not know.
    Unknown,
}

fn join(prefix: &[String], last: &str) -> String {
    if prefix.is_empty() {
        last.to_string()
    } else {
        format!("{}::{last}", prefix.join("::"))
    }
}

/// The scope stack of one file, as the walker moves through it.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    scopes: Vec<Scope>,
    /// The module path of the file (`shop::orders`), for [`Resolver::canonical`].
    file_module: String,
}

impl Resolver {
    /// A resolver for a file: its top-level items form the outermost scope.
    pub fn for_file(file: &syn::File) -> Resolver {
        Resolver::for_file_in(file, "crate")
    }

    /// A resolver for a file that is module `module` (`shop::orders`) of its crate.
    pub fn for_file_in(file: &syn::File, module: &str) -> Resolver {
        Resolver {
            scopes: vec![Scope::module(&file.items)],
            file_module: module.to_string(),
        }
    }

    /// The name of the crate the file belongs to (`shop`; `crate` when unknown): the first
    /// segment of [`Resolver::canonical`] paths into this crate.
    pub fn crate_name(&self) -> &str {
        self.file_module.split("::").next().unwrap_or("crate")
    }

    /// Enter a nested scope (an inline module or a block with items).
    pub fn push(&mut self, scope: Scope) {
        self.scopes.push(scope);
    }

    /// Leave the innermost scope.
    pub fn pop(&mut self) {
        self.scopes.pop();
    }

    /// The full path `path` refers to: `thread::sleep` after `use std::thread` is
    /// `std::thread::sleep`. `None` when unknown (a local variable, a name from an unknown glob).
    pub fn resolve(&self, path: &syn::Path) -> Option<String> {
        // Called for most paths of every file: build the result in one string, with no string
        // per segment.
        let first_ident = &path.segments.first()?.ident;
        let first = first_ident.to_string();
        let has_rest = path.segments.len() > 1;
        let joined = |head: &str| {
            let mut full = String::with_capacity(head.len() + 16 * path.segments.len());
            full.push_str(head);
            for segment in path.segments.iter().skip(1) {
                full.push_str("::");
                // Writing into a `String` cannot fail.
                let _ = write!(full, "{}", segment.ident);
            }
            full
        };
        if path.leading_colon.is_some() {
            return Some(joined(&first));
        }
        if matches!(first.as_str(), "crate" | "self" | "super" | "Self") {
            return Some(joined(&first));
        }
        for scope in self.scopes.iter().rev() {
            match scope.lookup(&first, has_rest) {
                Some(Lookup::Path(full)) => return Some(joined(&full)),
                Some(Lookup::Local) => return Some(joined(&format!("self::{first}"))),
                // A glob of an unknown module could bring in any single name, but not a crate
                // root: `std::fs::read` stays std's whatever `use crate::errors::*;` exports.
                Some(Lookup::Unknown) if has_rest && CRATE_ROOTS.contains(&first.as_str()) => {
                    break;
                }
                Some(Lookup::Unknown) => return None,
                None if !scope.inherits => break,
                None => {}
            }
        }
        if let Some((_, full)) = STD_PRELUDE.iter().find(|(name, _)| *name == first) {
            return Some(joined(full));
        }
        // A multi-segment path whose first segment is not bound names a crate: `std::fs::read`.
        has_rest.then(|| joined(&first))
    }

    /// The workspace-wide name of the item `path` names: the same for every file that names it,
    /// however it is written. `CreateOrder` declared in `src/orders.rs` of crate `shop` is
    /// `shop::orders::CreateOrder`, and so is `crate::orders::CreateOrder`, `super::CreateOrder`
    /// from `shop::orders::tests`, and `CreateOrder` after `use crate::orders::CreateOrder;`.
    /// Names from outside the workspace keep their full path (`catga::Context`). `None` when
    /// unknown (`Self`, a name that may come from a glob of an unknown module).
    pub fn canonical(&self, path: &syn::Path) -> Option<String> {
        let segments: Vec<String> = path
            .segments
            .iter()
            .map(|segment| segment.ident.to_string())
            .collect();
        if path.leading_colon.is_some() {
            return Some(segments.join("::"));
        }
        self.canonical_in(self.scopes.len().checked_sub(1)?, &segments, 0)
    }

    /// The path from the file's root module of an item the file declares: `Pool` declared in
    /// inline module `a` is `self::a::Pool`, wherever in `a` it is named. `None` when `path`
    /// does not name an item of this file.
    pub fn local_path(&self, path: &syn::Path) -> Option<String> {
        let canonical = self.canonical(path)?;
        let inner = canonical.strip_prefix(&self.file_module)?;
        (inner.is_empty() || inner.starts_with("::")).then(|| format!("self{inner}"))
    }

    /// [`Resolver::canonical`] of `segments` as written in scope `at`; `depth` bounds how many
    /// imports are followed (`use a::b; use b::c;` chains, cycles in broken code).
    fn canonical_in(&self, at: usize, segments: &[String], depth: usize) -> Option<String> {
        let (first, rest) = segments.split_first()?;
        if depth > 8 {
            return None;
        }
        match first.as_str() {
            "crate" => {
                let crate_name = self.file_module.split("::").next().unwrap_or("crate");
                return Some(join_all(crate_name, rest));
            }
            "self" => return Some(join_all(&self.module_at(at), rest)),
            "super" => {
                let mut module: Vec<String> =
                    self.module_at(at).split("::").map(str::to_owned).collect();
                let mut rest = rest;
                module.pop();
                while let Some(("super", tail)) = rest.split_first().map(|(s, t)| (s.as_str(), t)) {
                    module.pop();
                    rest = tail;
                }
                if module.is_empty() {
                    return None;
                }
                return Some(join_all(&module.join("::"), rest));
            }
            "Self" => return None,
            _ => {}
        }
        for index in (0..=at).rev() {
            let scope = &self.scopes[index];
            match scope.lookup(first, !rest.is_empty()) {
                Some(Lookup::Local) => {
                    return Some(join_all(
                        &format!("{}::{first}", self.module_at(index)),
                        rest,
                    ));
                }
                Some(Lookup::Path(full)) => {
                    let mut imported: Vec<String> = full.split("::").map(str::to_owned).collect();
                    imported.extend(rest.iter().cloned());
                    // An import names a path relative to the module that declares it
                    // (`use orders::CreateOrder;` beside `mod orders;`), or a crate.
                    let relative = matches!(imported[0].as_str(), "crate" | "self" | "super")
                        || (imported.len() > 1
                            && imported[0] != *first
                            && self.scopes[index]
                                .lookup(&imported[0], true)
                                .is_some_and(|lookup| matches!(lookup, Lookup::Local)));
                    if relative {
                        return self.canonical_in(index, &imported, depth + 1);
                    }
                    return Some(imported.join("::"));
                }
                // A glob of an unknown module could bring in any single name, but not a crate
                // root: `std::fs::read` stays std's whatever `use crate::errors::*;` exports.
                Some(Lookup::Unknown)
                    if !rest.is_empty() && CRATE_ROOTS.contains(&first.as_str()) =>
                {
                    break;
                }
                Some(Lookup::Unknown) => return None,
                None if !scope.inherits => break,
                None => {}
            }
        }
        if let Some((_, full)) = STD_PRELUDE.iter().find(|(name, _)| name == first) {
            return Some(join_all(full, rest));
        }
        // Not bound here: a crate (`std::fs`), or a single name we cannot place.
        (!rest.is_empty()).then(|| join_all(first, rest))
    }

    /// The module path of scope `at`: the file's, then each inline module down to it.
    fn module_at(&self, at: usize) -> String {
        let mut module = self.file_module.clone();
        for scope in self.scopes.iter().take(at + 1) {
            if let Some(name) = &scope.module_name {
                module.push_str("::");
                module.push_str(name);
            }
        }
        module
    }

    /// Resolve a path expression (`thread::sleep` in `thread::sleep(d)`); `None` for any other
    /// expression.
    pub fn resolve_expr(&self, expr: &syn::Expr) -> Option<String> {
        match expr {
            syn::Expr::Path(path) if path.qself.is_none() => self.resolve(&path.path),
            syn::Expr::Paren(paren) => self.resolve_expr(&paren.expr),
            _ => None,
        }
    }

    /// Whether `name` (a single identifier) is declared or imported in any visible scope.
    pub fn is_bound(&self, name: &str) -> bool {
        for scope in self.scopes.iter().rev() {
            if scope.bindings.contains_key(name) {
                return true;
            }
            if !scope.inherits {
                break;
            }
        }
        false
    }
}

fn join_all(first: &str, rest: &[String]) -> String {
    let mut full = first.to_string();
    for segment in rest {
        full.push_str("::");
        full.push_str(segment);
    }
    full
}

/// Whether a resolved path names one of catga's items called `name` (`catga::Handler`,
/// `catga::prelude::Handler`, `catga::handler::Handler`).
pub fn is_catga_item(resolved: &str, name: &str) -> bool {
    resolved.starts_with("catga::") && resolved.rsplit("::").next() == Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_in(source: &str, path: &str) -> Option<String> {
        let file = syn::parse_file(source).unwrap();
        let resolver = Resolver::for_file(&file);
        resolver.resolve(&syn::parse_str(path).unwrap())
    }

    #[test]
    fn module_import_resolves_qualified_call() {
        let got = resolve_in("use std::thread;", "thread::sleep");
        assert_eq!(got.as_deref(), Some("std::thread::sleep"));
    }

    #[test]
    fn group_rename_and_self_imports_resolve() {
        let source = "use std::{thread::{self, sleep as nap}, fs};";
        assert_eq!(
            resolve_in(source, "nap").as_deref(),
            Some("std::thread::sleep")
        );
        assert_eq!(
            resolve_in(source, "thread::spawn").as_deref(),
            Some("std::thread::spawn")
        );
        assert_eq!(
            resolve_in(source, "fs::read").as_deref(),
            Some("std::fs::read")
        );
    }

    #[test]
    fn local_fn_shadows_glob_import() {
        let source = "use std::thread::*; fn sleep(_: u64) {}";
        assert_eq!(resolve_in(source, "sleep").as_deref(), Some("self::sleep"));
        assert_eq!(
            resolve_in("use std::thread::*;", "sleep").as_deref(),
            Some("std::thread::sleep")
        );
    }

    #[test]
    fn unknown_glob_makes_single_names_unknown() {
        assert_eq!(resolve_in("use my_crate::*;", "sleep"), None);
        assert_eq!(resolve_in("", "sleep"), None);
    }

    #[test]
    fn unknown_glob_leaves_std_paths_and_known_globs_resolved() {
        assert_eq!(
            resolve_in("use crate::errors::*;", "std::fs::File::open").as_deref(),
            Some("std::fs::File::open")
        );
        assert_eq!(
            resolve_in("use crate::errors::*; use std::thread;", "thread::sleep").as_deref(),
            Some("std::thread::sleep")
        );
        assert_eq!(resolve_in("use crate::errors::*;", "fs::read"), None);
        assert_eq!(
            resolve_in("use std::io::prelude::*;", "Read").as_deref(),
            Some("std::io::prelude::Read")
        );
        assert_eq!(
            resolve_in("use std::io::prelude::*; use std::fs;", "fs::read").as_deref(),
            Some("std::fs::read")
        );
    }

    #[test]
    fn fully_qualified_and_prelude_paths_resolve() {
        assert_eq!(
            resolve_in("", "::std::fs::read").as_deref(),
            Some("std::fs::read")
        );
        assert_eq!(
            resolve_in("", "std::fs::read").as_deref(),
            Some("std::fs::read")
        );
        assert_eq!(
            resolve_in("", "Box::pin").as_deref(),
            Some("std::boxed::Box::pin")
        );
    }

    #[test]
    fn catga_prelude_glob_resolves_handler_but_local_trait_wins() {
        let source = "use catga::prelude::*;";
        let got = resolve_in(source, "Handler").unwrap();
        assert!(is_catga_item(&got, "Handler"));
        let shadowed = resolve_in("use catga::prelude::*; trait Handler {}", "Handler").unwrap();
        assert!(!is_catga_item(&shadowed, "Handler"));
    }

    #[test]
    fn uniform_path_import_through_another_import() {
        let got = resolve_in("use std::thread; use thread::sleep;", "sleep");
        assert_eq!(got.as_deref(), Some("std::thread::sleep"));
    }

    #[test]
    fn inline_module_does_not_see_parent_imports_without_super_glob() {
        let file = syn::parse_file("use std::thread; mod inner { fn f() {} }").unwrap();
        let mut resolver = Resolver::for_file(&file);
        let syn::Item::Mod(module) = &file.items[1] else {
            panic!("expected a module")
        };
        resolver.push(Scope::module(&module.content.as_ref().unwrap().1));
        assert_eq!(
            resolver
                .resolve(&syn::parse_str("thread::sleep").unwrap())
                .as_deref(),
            Some("thread::sleep")
        );
        resolver.pop();
        let file = syn::parse_file("use std::thread; mod tests { use super::*; }").unwrap();
        let mut resolver = Resolver::for_file(&file);
        let syn::Item::Mod(module) = &file.items[1] else {
            panic!("expected a module")
        };
        resolver.push(Scope::module(&module.content.as_ref().unwrap().1));
        assert_eq!(
            resolver
                .resolve(&syn::parse_str("thread::sleep").unwrap())
                .as_deref(),
            Some("std::thread::sleep")
        );
    }

    #[test]
    fn path_through_an_item_imported_from_its_own_crate_names_the_crate() {
        let source = "use async_trait::async_trait;";
        assert_eq!(
            resolve_in(source, "async_trait::async_trait").as_deref(),
            Some("async_trait::async_trait")
        );
        assert_eq!(
            resolve_in(source, "async_trait").as_deref(),
            Some("async_trait::async_trait")
        );
        assert_eq!(
            resolve_in("use log::log;", "log::info").as_deref(),
            Some("log::info")
        );
    }

    #[test]
    fn crate_named_item_import_is_not_a_base_for_other_imports() {
        let source = "use async_trait::async_trait; use async_trait::other;";
        assert_eq!(
            resolve_in(source, "other").as_deref(),
            Some("async_trait::other")
        );
    }

    #[test]
    fn module_imports_and_types_still_start_paths() {
        assert_eq!(
            resolve_in("use std::thread::{self};", "thread::sleep").as_deref(),
            Some("std::thread::sleep")
        );
        assert_eq!(
            resolve_in("use tokio::runtime::Runtime;", "Runtime::new").as_deref(),
            Some("tokio::runtime::Runtime::new")
        );
        assert_eq!(
            resolve_in("use futures::executor;", "executor::block_on").as_deref(),
            Some("futures::executor::block_on")
        );
    }

    #[test]
    fn local_fn_or_macro_does_not_start_paths_but_local_module_does() {
        let source = "fn tokio() {} macro_rules! log { () => {} }";
        assert_eq!(
            resolve_in(source, "tokio::spawn").as_deref(),
            Some("tokio::spawn")
        );
        assert_eq!(resolve_in(source, "tokio").as_deref(), Some("self::tokio"));
        assert_eq!(
            resolve_in(source, "log::info").as_deref(),
            Some("log::info")
        );
        assert_eq!(
            resolve_in("mod tokio {}", "tokio::spawn").as_deref(),
            Some("self::tokio::spawn")
        );
    }

    #[test]
    fn block_local_fn_lets_a_path_reach_the_outer_module_import() {
        let file = syn::parse_file("use std::thread;").unwrap();
        let block: syn::Block = syn::parse_str("{ fn thread() {} }").unwrap();
        let mut resolver = Resolver::for_file(&file);
        resolver.push(Scope::block(&block.stmts).unwrap());
        let resolve = |path: &str| resolver.resolve(&syn::parse_str(path).unwrap());
        assert_eq!(
            resolve("thread::sleep").as_deref(),
            Some("std::thread::sleep")
        );
        assert_eq!(resolve("thread").as_deref(), Some("self::thread"));
    }

    #[test]
    fn block_scope_import_is_visible_inside_the_block_only() {
        let block: syn::Block = syn::parse_str("{ use std::thread::sleep; }").unwrap();
        let mut resolver = Resolver::default();
        resolver.push(Scope::module(&[]));
        resolver.push(Scope::block(&block.stmts).unwrap());
        assert_eq!(
            resolver
                .resolve(&syn::parse_str("sleep").unwrap())
                .as_deref(),
            Some("std::thread::sleep")
        );
        resolver.pop();
        assert_eq!(resolver.resolve(&syn::parse_str("sleep").unwrap()), None);
    }

    /// `canonical` of `path` written at the end of `source` (inside the inline modules named
    /// by `inside`), for a file that is module `shop::orders`.
    fn canonical_in(source: &str, inside: &[&str], path: &str) -> Option<String> {
        let file = syn::parse_file(source).unwrap();
        let mut resolver = Resolver::for_file_in(&file, "shop::orders");
        let mut items = &file.items;
        for name in inside {
            let module = items
                .iter()
                .find_map(|item| match item {
                    syn::Item::Mod(m) if m.ident == name => Some(m),
                    _ => None,
                })
                .unwrap();
            let content = &module.content.as_ref().unwrap().1;
            resolver.push(Scope::inline_module(&module.ident, content));
            items = content;
        }
        resolver.canonical(&syn::parse_str(path).unwrap())
    }

    #[test]
    fn canonical_names_one_type_the_same_however_it_is_written() {
        let source = "pub struct Cancel;
mod legacy { use super::Cancel; use crate::billing::Refund; pub struct Cancel2; }
mod billing;
use billing::Refund as Money;
";
        let expect = Some("shop::orders::Cancel".to_string());
        assert_eq!(canonical_in(source, &[], "Cancel"), expect);
        assert_eq!(canonical_in(source, &[], "self::Cancel"), expect);
        assert_eq!(canonical_in(source, &[], "crate::orders::Cancel"), expect);
        assert_eq!(canonical_in(source, &["legacy"], "Cancel"), expect);
        assert_eq!(canonical_in(source, &["legacy"], "super::Cancel"), expect);
        assert_eq!(
            canonical_in(source, &["legacy"], "Cancel2"),
            Some("shop::orders::legacy::Cancel2".to_string())
        );
        // An import from a sibling module declared beside it, and a rename.
        assert_eq!(
            canonical_in(source, &[], "Money"),
            Some("shop::orders::billing::Refund".to_string())
        );
        assert_eq!(
            canonical_in(source, &["legacy"], "Refund"),
            Some("shop::billing::Refund".to_string())
        );
    }

    #[test]
    fn canonical_keeps_outside_paths_and_gives_up_on_what_it_cannot_place() {
        let source = "use catga::prelude::*;
use std::collections::HashMap;
use other::*;
";
        assert_eq!(
            canonical_in(source, &[], "HashMap"),
            Some("std::collections::HashMap".to_string())
        );
        assert_eq!(
            canonical_in(source, &[], "::serde::Serialize"),
            Some("serde::Serialize".to_string())
        );
        assert_eq!(canonical_in(source, &[], "Self"), None);
        // `Mystery` may come from `other::*`.
        assert_eq!(canonical_in(source, &[], "Mystery"), None);
        // Past the crate root.
        assert_eq!(canonical_in("", &[], "super::super::super::X"), None);
    }
}
