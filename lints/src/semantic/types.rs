//! Types as the semantic model sees them, without a type checker: a [`TypeChain`], the resolved
//! paths of a type and of its first type argument, outermost first, references dropped.
//! `&Arc<parking_lot::Mutex<u64>>` is `std::sync::Arc`, `parking_lot::Mutex`, `?` (a name the
//! resolver cannot place). A rule reads the layers it cares about ("a Mutex under any number of
//! Arcs").
//!
//! A type the file declares is named by its owner's path inside the file: `Pool` declared in
//! `mod a` is `self::a::Pool`, the one at the top `self::Pool`, so two structs of one name in
//! two modules stay two types.

use crate::resolve::Resolver;

/// A type's layers, outermost first; see the module docs. `[]` is a slice, `[;]` an array, `?`
/// a layer whose name does not resolve.
pub(crate) type TypeChain = Vec<String>;

/// The layer a type path names: its resolved path, or for a type the file declares, its path
/// from the file's root module (see the module docs).
pub(crate) fn layer(path: &syn::Path, resolver: &Resolver) -> String {
    match resolver.resolve(path) {
        Some(resolved) if resolved.starts_with("self::") => {
            resolver.local_path(path).unwrap_or(resolved)
        }
        Some(resolved) => resolved,
        None => "?".to_string(),
    }
}

/// The layers of a written type.
pub(crate) fn type_chain(ty: &syn::Type, resolver: &Resolver) -> TypeChain {
    let mut chain = Vec::new();
    let mut current = ty;
    loop {
        current = match current {
            syn::Type::Reference(reference) => &reference.elem,
            syn::Type::Paren(paren) => &paren.elem,
            syn::Type::Group(group) => &group.elem,
            syn::Type::Slice(slice) => {
                chain.push("[]".to_string());
                &slice.elem
            }
            syn::Type::Array(array) => {
                chain.push("[;]".to_string());
                &array.elem
            }
            syn::Type::Path(path) if path.qself.is_none() => {
                chain.push(layer(&path.path, resolver));
                match first_type_argument(&path.path) {
                    Some(argument) => argument,
                    None => break,
                }
            }
            _ => break,
        };
    }
    chain
}

/// The first type argument of a path's last segment: `u64` in `Mutex<u64>`.
pub(crate) fn first_type_argument(path: &syn::Path) -> Option<&syn::Type> {
    let syn::PathArguments::AngleBracketed(arguments) = &path.segments.last()?.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// The layers of a value built by constructor calls: `Arc::new(Mutex::new(0))` is
/// `std::sync::Arc`, `std::sync::Mutex`; `vec![..]` is `std::vec::Vec`. Empty for anything else.
pub(crate) fn constructor_chain(expr: &syn::Expr, resolver: &Resolver) -> TypeChain {
    let mut chain = Vec::new();
    let mut current = expr;
    loop {
        match current {
            syn::Expr::Call(call) => {
                let Some(callee) = resolver.resolve_expr(&call.func) else {
                    break;
                };
                let Some((ty, constructor)) = callee.rsplit_once("::") else {
                    break;
                };
                if !matches!(constructor, "new" | "default" | "with_capacity" | "from") {
                    break;
                }
                chain.push(ty.to_string());
                match call.args.first() {
                    Some(argument) => current = argument,
                    None => break,
                }
            }
            syn::Expr::Macro(mac) if mac.mac.path.is_ident("vec") => {
                chain.push("std::vec::Vec".to_string());
                break;
            }
            syn::Expr::Paren(paren) => current = &paren.expr,
            _ => break,
        }
    }
    chain
}

/// Whether `layer` is a smart pointer or lazy cell that method calls see through.
pub(crate) fn is_transparent_wrapper(layer: &str) -> bool {
    matches!(
        layer,
        "std::sync::Arc"
            | "alloc::sync::Arc"
            | "std::rc::Rc"
            | "alloc::rc::Rc"
            | "std::boxed::Box"
            | "alloc::boxed::Box"
            | "std::sync::LazyLock"
            | "std::cell::LazyCell"
            | "once_cell::sync::Lazy"
            | "once_cell::unsync::Lazy"
    )
}

/// The first layer of `chain` under any [`is_transparent_wrapper`] layers.
pub(crate) fn innermost_value(chain: &[String]) -> Option<&str> {
    chain
        .iter()
        .map(String::as_str)
        .find(|layer| !is_transparent_wrapper(layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructor_calls_give_the_layers_of_a_let_binding() {
        let file: syn::File = syn::parse_str("use std::sync::{Arc, RwLock};").unwrap();
        let resolver = Resolver::for_file(&file);
        let expr = syn::parse_str("Arc::new(RwLock::new(5))").unwrap();
        assert_eq!(
            constructor_chain(&expr, &resolver),
            ["std::sync::Arc", "std::sync::RwLock"]
        );
        assert!(constructor_chain(&syn::parse_str("make()").unwrap(), &resolver).is_empty());
    }

    #[test]
    fn a_type_declared_in_an_inline_module_is_named_by_its_module() {
        let file: syn::File = syn::parse_str("struct Pool; mod a { pub struct Pool; }").unwrap();
        let mut resolver = Resolver::for_file_in(&file, "shop::orders");
        let ty: syn::Type = syn::parse_str("Arc<Pool>").unwrap();
        assert_eq!(type_chain(&ty, &resolver)[1], "self::Pool");
        let syn::Item::Mod(module) = &file.items[1] else {
            panic!("expected a module")
        };
        let items = &module.content.as_ref().unwrap().1;
        resolver.push(crate::resolve::Scope::inline_module(&module.ident, items));
        assert_eq!(type_chain(&ty, &resolver)[1], "self::a::Pool");
    }
}
