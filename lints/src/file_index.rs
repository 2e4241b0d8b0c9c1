//! Declarations of one file, for rules whose evidence lies outside the node a hook is given: the
//! fields of the file's structs, its statics (`lazy_static!` and `thread_local!` ones included),
//! and every fn body with its enclosing impl and the
//! name-resolution scope of its module. Built from the `file` hook's `syn::File`; the
//! semantic model ([`crate::semantic::SemanticModel`]) reads it to type fields, statics and
//! aliases.
//!
//! Structs and aliases are keyed by their owner's path in the file (`self::a::Pool` for `Pool`
//! in `mod a`, as [`crate::semantic::types`] names types), so two of one name in two modules
//! stay apart; their field and aliased types are read with their own module's imports.

use crate::context::{HandlerKind, handler_kind, is_test_attr};
use crate::resolve::{Resolver, Scope};
use crate::semantic::types::{TypeChain, type_chain};
use proc_macro2::TokenTree;
use std::collections::HashMap;
use syn::visit::Visit;

/// A fn with a body, where it sits, and how to resolve names inside it.
#[derive(Debug)]
pub(crate) struct FnSite<'a> {
    /// Its signature.
    pub(crate) sig: &'a syn::Signature,
    /// Its body.
    pub(crate) body: &'a syn::Block,
    /// The `Self` type of the enclosing impl.
    pub(crate) self_ty: Option<&'a syn::Type>,
    /// The catga trait the enclosing impl implements, if any.
    pub(crate) handler: Option<HandlerKind>,
    /// Test code: the fn, its impl or one of its modules is `#[cfg(test)]` / `#[test]`.
    pub(crate) in_test: bool,
    module: usize,
}

impl FnSite<'_> {
    /// Handler code: a method of a catga handler impl that is not test code.
    pub(crate) fn is_handler_code(&self) -> bool {
        self.handler.is_some() && !self.in_test
    }

    /// `Type::name` for a method of an impl whose self type is a path, else `name`.
    pub(crate) fn display_name(&self) -> String {
        let name = &self.sig.ident;
        match self.self_ty {
            Some(syn::Type::Path(path)) => match path.path.segments.last() {
                Some(segment) => format!("{}::{name}", segment.ident),
                None => name.to_string(),
            },
            _ => name.to_string(),
        }
    }
}

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
    /// Name of a static (not a const) -> how it is declared; `None` when the file declares the
    /// name more than once (in two modules, or also as a const).
    static_kinds: HashMap<String, Option<StaticKind>>,
    /// Type alias path in the file -> aliased type and its module; `None` when declared twice.
    aliases: HashMap<String, Option<(&'a syn::Type, usize)>>,
    fns: Vec<FnSite<'a>>,
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
            aliases: HashMap::new(),
            fns: Vec::new(),
            modules: vec![resolver.clone()],
            module_paths: vec!["self".to_string()],
        };
        index.add_items(&file.items, 0, false);
        index
    }

    /// Every fn with a body, nested ones included, in source order of their enclosing items.
    pub(crate) fn fns(&self) -> &[FnSite<'a>] {
        &self.fns
    }

    /// How the file declares the static `name` (`None` for anything else, consts included, and
    /// for a name declared more than once).
    pub(crate) fn static_kind(&self, name: &str) -> Option<StaticKind> {
        self.static_kinds.get(name).copied().flatten()
    }

    /// The layers of the declared type of the static or const `name` (`lazy_static!` ones
    /// included) named in `site`: the one its module declares or imports from this file.
    pub(crate) fn static_type(&self, name: &syn::Ident, site: &FnSite<'_>) -> Option<TypeChain> {
        let resolver = self.resolver(site);
        // A `lazy_static!` one is bound by no scope: it is the module's own.
        let path = resolver
            .local_path(&syn::Path::from(name.clone()))
            .unwrap_or_else(|| self.item_path(site.module, name));
        let (ty, module) = match (self.statics.get(&path), self.lazy_statics.get(&path)) {
            (Some(found), None) => (*found)?,
            (None, Some(found)) => found.as_ref().map(|(ty, module)| (ty, *module))?,
            _ => return None,
        };
        Some(self.written(ty, &self.modules[module]))
    }

    /// The resolver for names inside `site`.
    pub(crate) fn resolver(&self, site: &FnSite<'_>) -> &Resolver {
        &self.modules[site.module]
    }

    fn add_items(&mut self, items: &'a [syn::Item], module: usize, in_test: bool) {
        for item in items {
            self.add_item(item, module, in_test);
        }
    }

    fn add_item(&mut self, item: &'a syn::Item, module: usize, in_test: bool) {
        match item {
            syn::Item::Struct(strukt) => {
                let path = self.item_path(module, &strukt.ident);
                insert_unique(&mut self.structs, path, (&strukt.fields, module))
            }
            syn::Item::Static(statik) => {
                let path = self.item_path(module, &statik.ident);
                insert_unique(&mut self.statics, path, (&*statik.ty, module));
                insert_unique(
                    &mut self.static_kinds,
                    statik.ident.to_string(),
                    StaticKind::Static,
                );
            }
            syn::Item::Macro(mac) => {
                let Some((kind, declared)) = macro_statics(&mac.mac) else {
                    return;
                };
                for (name, ty) in declared {
                    insert_unique(&mut self.static_kinds, name.to_string(), kind);
                    if kind == StaticKind::LazyStatic {
                        let path = self.item_path(module, &name);
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
                insert_unique(&mut self.statics, path, (&*konst.ty, module));
                // A const is not a static: a name declared as both is ambiguous.
                self.static_kinds.insert(konst.ident.to_string(), None);
            }
            syn::Item::Fn(f) => {
                let in_test = in_test || is_test_attr(&f.attrs);
                self.add_fn(&f.sig, &f.block, None, None, module, in_test);
            }
            syn::Item::Impl(imp) => {
                let in_test = in_test || is_test_attr(&imp.attrs);
                let handler = handler_kind(&self.modules[module], imp);
                for impl_item in &imp.items {
                    if let syn::ImplItem::Fn(f) = impl_item {
                        let in_test = in_test || is_test_attr(&f.attrs);
                        self.add_fn(
                            &f.sig,
                            &f.block,
                            Some(&imp.self_ty),
                            handler,
                            module,
                            in_test,
                        );
                    }
                }
            }
            syn::Item::Trait(tr) => {
                let in_test = in_test || is_test_attr(&tr.attrs);
                for trait_item in &tr.items {
                    if let syn::TraitItem::Fn(f) = trait_item
                        && let Some(body) = &f.default
                    {
                        self.add_fn(
                            &f.sig,
                            body,
                            None,
                            None,
                            module,
                            in_test || is_test_attr(&f.attrs),
                        );
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
                    self.add_items(items, inner, in_test || is_test_attr(&m.attrs));
                }
            }
            _ => {}
        }
    }

    fn add_fn(
        &mut self,
        sig: &'a syn::Signature,
        body: &'a syn::Block,
        self_ty: Option<&'a syn::Type>,
        handler: Option<HandlerKind>,
        module: usize,
        in_test: bool,
    ) {
        self.fns.push(FnSite {
            sig,
            body,
            self_ty,
            handler,
            in_test,
            module,
        });
        // Items declared inside the body (nested fns, impls, structs) belong to the file too.
        let mut nested = NestedItems::default();
        nested.visit_block(body);
        for item in nested.items {
            self.add_item(item, module, in_test);
        }
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

/// Items directly inside a fn body (at any block depth), not inside nested items.
#[derive(Default)]
struct NestedItems<'a> {
    items: Vec<&'a syn::Item>,
}

impl<'a> Visit<'a> for NestedItems<'a> {
    fn visit_item(&mut self, item: &'a syn::Item) {
        self.items.push(item);
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
        assert_eq!(index.static_kind("CACHE"), Some(StaticKind::LazyStatic));
        assert_eq!(index.static_kind("BUF"), Some(StaticKind::ThreadLocal));
        assert_eq!(index.static_kind("SEEN"), Some(StaticKind::Static));
        assert_eq!(index.static_kind("MAX"), None);
    }

    #[test]
    fn methods_of_impls_in_inline_test_modules_are_test_code() {
        let source = "mod tests { #[cfg(test)] impl S { fn f(m: &u8) {} } }";
        let file: syn::File = syn::parse_str(source).unwrap();
        let index = FileIndex::new(&file, &Resolver::for_file(&file));
        assert!(index.fns()[0].in_test);
    }
}
