//! Declarations of one file, the part of the semantic model ([`crate::semantic::SemanticModel`])
//! that lies outside the fn being walked: the fields of the file's structs, its statics
//! (`lazy_static!` and `thread_local!` ones included) and consts, its type aliases, and its fns
//! that hand out a lock guard. Built once per file, before the walk.
//!
//! Structs, statics and aliases are keyed by their owner's path in the file (`self::a::Pool`
//! for `Pool` in `mod a`, as [`crate::semantic::types`] names types), so two of one name in two
//! modules stay apart; their field and declared types are read with their own module's imports.

use crate::locks::GuardKind;
use crate::resolve::{Resolver, Scope};
use crate::semantic::types::{TypeChain, type_chain};
use proc_macro2::TokenTree;
use std::collections::{HashMap, HashSet};
use syn::visit::Visit;

/// How a static of the file is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StaticKind {
    /// `static NAME: T = ..;`
    Static,
    /// `static ref NAME: T = ..;` inside `lazy_static!`.
    LazyStatic,
    /// `static NAME: T = ..;` inside `thread_local!` (a `LocalKey`, reached through `.with(..)`).
    ThreadLocal,
}

/// The declarations of one file.
#[derive(Debug)]
pub(crate) struct FileIndex<'a> {
    /// Struct path in the file (`self::a::Pool`) -> its fields and module; `None` when two
    /// structs have that path (declared in two fn bodies of one module).
    structs: HashMap<String, Option<(&'a syn::Fields, usize)>>,
    /// Static or const path in the file -> type and module; `None` when declared twice.
    statics: HashMap<String, Option<(&'a syn::Type, usize)>>,
    /// `lazy_static!` path in the file -> type (parsed from the macro body) and module; `None`
    /// when declared twice.
    lazy_statics: HashMap<String, Option<(syn::Type, usize)>>,
    /// Static path in the file (`self::a::CACHE`) -> how it is declared; `None` when the file
    /// declares that path more than once (also as a const).
    static_kinds: HashMap<String, Option<StaticKind>>,
    /// The fn bodies that may suspend (see [`FileIndex::may_await`]).
    awaiting_bodies: HashSet<*const syn::Block>,
    /// Name of a fn or method -> the guard its declared return type hands out; `None` when two
    /// fns of that name disagree.
    guard_fns: HashMap<String, Option<GuardKind>>,
    /// Type alias path in the file -> aliased type and its module; `None` when declared twice.
    aliases: HashMap<String, Option<(&'a syn::Type, usize)>>,
    /// One resolver per module of the file (the file itself first).
    modules: Vec<Resolver>,
    /// The path of each module in the file (`self`, `self::a`), as `modules` is indexed.
    module_paths: Vec<String>,
}

impl<'a> FileIndex<'a> {
    /// Index `file`; `resolver` is the file-level resolver the hook was given.
    pub(crate) fn new(file: &'a syn::File, resolver: &Resolver) -> FileIndex<'a> {
        let mut index = FileIndex {
            structs: HashMap::new(),
            statics: HashMap::new(),
            lazy_statics: HashMap::new(),
            static_kinds: HashMap::new(),
            guard_fns: HashMap::new(),
            awaiting_bodies: HashSet::new(),
            aliases: HashMap::new(),
            modules: vec![resolver.clone()],
            module_paths: vec!["self".to_string()],
        };
        index.add_items(&file.items, 0);
        index
    }

    /// How the file declares the static at `path` in the file (`self::a::CACHE`; `None` for
    /// anything else, consts included, and for a path declared more than once).
    pub(crate) fn static_kind(&self, path: &str) -> Option<StaticKind> {
        self.static_kinds.get(path).copied().flatten()
    }

    /// The path in the file of the static or const `name` named where `resolver` resolves names
    /// in `module` (`self::a`): the one that module declares or imports from this file (a
    /// `lazy_static!` or `thread_local!` one is bound by no scope: it is the module's own).
    pub(crate) fn static_path(
        &self,
        name: &syn::Ident,
        resolver: &Resolver,
        module: &str,
    ) -> String {
        resolver
            .local_path(&syn::Path::from(name.clone()))
            .unwrap_or_else(|| format!("{module}::{name}"))
    }

    /// The layers of the declared type of the static or const `name` (`lazy_static!` ones
    /// included) named where `resolver` resolves names in `module`; see
    /// [`FileIndex::static_path`].
    pub(crate) fn static_type(
        &self,
        name: &syn::Ident,
        resolver: &Resolver,
        module: &str,
    ) -> Option<TypeChain> {
        let path = self.static_path(name, resolver, module);
        let (ty, module) = match (self.statics.get(&path), self.lazy_statics.get(&path)) {
            (Some(found), None) => (*found)?,
            (None, Some(found)) => found.as_ref().map(|(ty, module)| (ty, *module))?,
            _ => return None,
        };
        Some(self.written(ty, &self.modules[module]))
    }

    /// Whether the body of a fn of the file may suspend: it holds an `.await`, an `async` block
    /// or closure, or a macro (nested items aside). A body that may not has no await point for
    /// anything to be alive across.
    pub(crate) fn may_await(&self, body: &syn::Block) -> bool {
        self.awaiting_bodies.contains(&std::ptr::from_ref(body))
    }

    /// The guard a call of the file's fn or method `name` hands out, from its declared return
    /// type (`fn state(&self) -> RefMut<'_, State>`, `Result<MutexGuard<..>, E>`).
    pub(crate) fn guard_fn(&self, name: &syn::Ident) -> Option<GuardKind> {
        // Most files declare none: no name to spell then.
        if self.guard_fns.is_empty() {
            return None;
        }
        self.guard_fns.get(&name.to_string()).copied().flatten()
    }

    fn add_items(&mut self, items: &'a [syn::Item], module: usize) {
        for item in items {
            self.add_item(item, module);
        }
    }

    fn add_item(&mut self, item: &'a syn::Item, module: usize) {
        match item {
            syn::Item::Struct(strukt) => {
                let path = self.item_path(module, &strukt.ident);
                insert_unique(&mut self.structs, path, (&strukt.fields, module))
            }
            syn::Item::Static(statik) => {
                let path = self.item_path(module, &statik.ident);
                insert_unique(&mut self.static_kinds, path.clone(), StaticKind::Static);
                insert_unique(&mut self.statics, path, (&*statik.ty, module));
            }
            syn::Item::Macro(mac) => {
                let Some((kind, declared)) = macro_statics(&mac.mac) else {
                    return;
                };
                for (name, ty) in declared {
                    let path = self.item_path(module, &name);
                    insert_unique(&mut self.static_kinds, path.clone(), kind);
                    if kind == StaticKind::LazyStatic {
                        insert_unique(&mut self.lazy_statics, path, (ty, module));
                    }
                }
            }
            syn::Item::Type(alias) => {
                let path = self.item_path(module, &alias.ident);
                insert_unique(&mut self.aliases, path, (&*alias.ty, module))
            }
            syn::Item::Const(konst) => {
                let path = self.item_path(module, &konst.ident);
                // A const is not a static: a path declared as both is ambiguous.
                self.static_kinds.insert(path.clone(), None);
                insert_unique(&mut self.statics, path, (&*konst.ty, module));
            }
            syn::Item::Fn(f) => self.add_fn(&f.sig, &f.block, module),
            syn::Item::Impl(imp) => {
                for impl_item in &imp.items {
                    if let syn::ImplItem::Fn(f) = impl_item {
                        self.add_fn(&f.sig, &f.block, module);
                    }
                }
            }
            syn::Item::Trait(tr) => {
                for trait_item in &tr.items {
                    if let syn::TraitItem::Fn(f) = trait_item
                        && let Some(body) = &f.default
                    {
                        self.add_fn(&f.sig, body, module);
                    }
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    let mut resolver = self.modules[module].clone();
                    resolver.push(Scope::inline_module(&m.ident, items));
                    self.modules.push(resolver);
                    let path = self.item_path(module, &m.ident);
                    self.module_paths.push(path);
                    let inner = self.modules.len() - 1;
                    self.add_items(items, inner);
                }
            }
            _ => {}
        }
    }

    /// A fn with a body: whether it hands out a guard, and the items declared inside it.
    fn add_fn(&mut self, sig: &'a syn::Signature, body: &'a syn::Block, module: usize) {
        self.add_guard_fn(sig, module);
        // Items declared inside the body (nested fns, impls, structs) belong to the file too.
        let mut nested = NestedItems::default();
        nested.visit_block(body);
        if nested.may_await {
            self.awaiting_bodies.insert(std::ptr::from_ref(body));
        }
        for item in nested.items {
            self.add_item(item, module);
        }
    }

    /// Record `sig` when its declared return type is a guard (or a `Result` or `Option` of one).
    fn add_guard_fn(&mut self, sig: &syn::Signature, module: usize) {
        let syn::ReturnType::Type(_, ty) = &sig.output else {
            return;
        };
        let chain = type_chain(ty, &self.modules[module]);
        let Some(kind) = chain
            .iter()
            .find(|layer| {
                !matches!(
                    layer.as_str(),
                    "std::result::Result" | "std::option::Option"
                )
            })
            .and_then(|layer| GuardKind::of_type(layer))
        else {
            return;
        };
        self.guard_fns
            .entry(sig.ident.to_string())
            .and_modify(|known| {
                if *known != Some(kind) {
                    *known = None;
                }
            })
            .or_insert(Some(kind));
    }

    /// The path in the file of item `name` declared in `module`.
    fn item_path(&self, module: usize, name: &syn::Ident) -> String {
        format!("{}::{name}", self.module_paths[module])
    }

    /// The layers of `ty` written where `resolver` resolves names, the file's type aliases
    /// replaced by what they stand for (`type Shared = Arc<Mutex<State>>`).
    pub(crate) fn written(&self, ty: &syn::Type, resolver: &Resolver) -> TypeChain {
        let mut chain = type_chain(ty, resolver);
        // Bounded: aliases may (wrongly) refer to each other.
        for _ in 0..8 {
            let alias = chain.iter().enumerate().find_map(|(position, layer)| {
                Some((position, self.aliases.get(layer).copied().flatten()?))
            });
            let Some((position, (aliased, module))) = alias else {
                break;
            };
            chain.truncate(position);
            chain.extend(type_chain(aliased, &self.modules[module]));
        }
        chain
    }

    /// The type of field `member` of the struct a type chain's layer names, when the struct is
    /// declared here; `self_chain` is what `Self` stands for.
    pub(crate) fn field_type(
        &self,
        layer: &str,
        self_chain: Option<&TypeChain>,
        member: &syn::Ident,
    ) -> Option<TypeChain> {
        if layer == "Self" {
            let self_layer = self_chain?.first()?;
            return if self_layer == "Self" {
                None
            } else {
                self.field_type(self_layer, None, member)
            };
        }
        let (fields, module) = self.structs.get(layer).copied().flatten()?;
        let field = fields
            .iter()
            .find(|field| field.ident.as_ref() == Some(member))?;
        Some(self.written(&field.ty, &self.modules[module]))
    }
}

fn insert_unique<V>(map: &mut HashMap<String, Option<V>>, name: String, value: V) {
    map.entry(name)
        .and_modify(|slot| *slot = None)
        .or_insert(Some(value));
}

/// The statics a `lazy_static! { .. }` or `thread_local! { .. }` invocation declares, with their
/// types; `None` for other macros and bodies that do not parse.
fn macro_statics(mac: &syn::Macro) -> Option<(StaticKind, Vec<(syn::Ident, syn::Type)>)> {
    let kind = match mac.path.segments.last()?.ident.to_string().as_str() {
        "lazy_static" => StaticKind::LazyStatic,
        "thread_local" => StaticKind::ThreadLocal,
        _ => return None,
    };
    let parser = |input: syn::parse::ParseStream<'_>| {
        let mut declared = Vec::new();
        while !input.is_empty() {
            input.call(syn::Attribute::parse_outer)?;
            input.parse::<syn::Visibility>()?;
            input.parse::<syn::Token![static]>()?;
            if input.peek(syn::Token![ref]) {
                input.parse::<syn::Token![ref]>()?;
            }
            let name: syn::Ident = input.parse()?;
            input.parse::<syn::Token![:]>()?;
            let ty: syn::Type = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            // The initializer: every token up to the `;` of this declaration.
            while !input.is_empty() && !input.peek(syn::Token![;]) {
                input.parse::<TokenTree>()?;
            }
            if !input.is_empty() {
                input.parse::<syn::Token![;]>()?;
            }
            declared.push((name, ty));
        }
        Ok(declared)
    };
    mac.parse_body_with(parser)
        .ok()
        .map(|declared| (kind, declared))
}

/// Items directly inside a fn body (at any block depth), not inside nested items; and whether
/// the body may suspend.
#[derive(Default)]
struct NestedItems<'a> {
    items: Vec<&'a syn::Item>,
    /// An `.await`, an `async` block or closure, or a macro (whose tokens may hold an `.await`
    /// or be an awaiting `select!`).
    may_await: bool,
}

impl<'a> Visit<'a> for NestedItems<'a> {
    fn visit_item(&mut self, item: &'a syn::Item) {
        self.items.push(item);
    }

    fn visit_expr_await(&mut self, expr: &'a syn::ExprAwait) {
        self.may_await = true;
        syn::visit::visit_expr_await(self, expr);
    }

    fn visit_expr_async(&mut self, block: &'a syn::ExprAsync) {
        self.may_await = true;
        syn::visit::visit_expr_async(self, block);
    }

    fn visit_expr_closure(&mut self, closure: &'a syn::ExprClosure) {
        self.may_await |= closure.asyncness.is_some();
        syn::visit::visit_expr_closure(self, closure);
    }

    fn visit_macro(&mut self, _mac: &'a syn::Macro) {
        self.may_await = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_static_and_thread_local_statics_are_indexed_apart_from_consts() {
        let source = "lazy_static::lazy_static! { pub static ref CACHE: std::sync::Mutex<u8> = Default::default(); }\n\
                      thread_local! { static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) }; }\n\
                      static SEEN: u8 = 0; const MAX: u8 = 1; fn f() {}";
        let file: syn::File = syn::parse_str(source).unwrap();
        let index = FileIndex::new(&file, &Resolver::for_file(&file));
        assert_eq!(
            index.static_kind("self::CACHE"),
            Some(StaticKind::LazyStatic)
        );
        assert_eq!(
            index.static_kind("self::BUF"),
            Some(StaticKind::ThreadLocal)
        );
        assert_eq!(index.static_kind("self::SEEN"), Some(StaticKind::Static));
        assert_eq!(index.static_kind("self::MAX"), None);
    }
}
