//! CATGA006 boxed-handler-future: an impl of catga's `Handler` or `EventHandler` whose `handle`
//! future is boxed, by `#[async_trait]` or by returning `Pin<Box<dyn Future>>` / `BoxFuture`.

use crate::context::HandlerKind;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use crate::semantic::types::first_type_argument;

static META: RuleMeta = RuleMeta {
    code: "CATGA006",
    name: "boxed-handler-future",
    severity: Severity::Info,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Safe],
    summary: "`#[async_trait]` or a `Pin<Box<dyn Future>>` return on a handler impl: one heap allocation per call",
    docs: r#"## What it does
Reports impls of catga's `Handler` or `EventHandler` (resolved through `use` items, aliases and
full paths) that box the future `handle` returns:

- `#[async_trait]` on the impl (any path that resolves to `async_trait::async_trait`, with or
  without `(?Send)`)
- a `handle` method returning `Pin<Box<dyn Future<..>>>`, `BoxFuture<..>` or `LocalBoxFuture<..>`

Impls of other traits that use `async_trait`, and local traits that happen to be called
`Handler`, are not reported.

## Why is this bad?
catga's handler traits declare `fn handle(..) -> impl Future<Output = ..> + Send`, so an
implementor writes `async fn handle` and the mediator calls it without boxing. A boxed future
costs one heap allocation and one dynamic call per message, on the hottest path of the service.
`#[async_trait]` on such an impl also does not compile (rustc E0195: the macro rewrites the
method's lifetimes), which usually means code carried over from an `async_trait`-based design.

## Example
```rust
#[async_trait]
impl Handler<CreateOrder> for CreateOrderHandler {
    async fn handle(&self, cmd: CreateOrder, ctx: &Context) -> catga::Result<OrderId> {
        // ...
    }
}
```

## Use instead
```rust
impl Handler<CreateOrder> for CreateOrderHandler {
    async fn handle(&self, cmd: CreateOrder, ctx: &Context) -> catga::Result<OrderId> {
        // ...
    }
}
```

## Fix safety
The fix removes the `#[async_trait]` attribute from the handler impl (the whole line when the
attribute stands alone on it; a comment on the same line is kept). It is safe: the impl's `async fn`s are exactly what catga's traits
expect. A `Pin<Box<dyn Future>>` or `BoxFuture` return has no fix: rewriting the body into an
`async fn` depends on how the future is built.

## Options
None.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        item: Some(check_item),
        ..Hooks::NONE
    },
};

fn check_item(item: &syn::Item, cx: &mut RuleCx<'_>) {
    let syn::Item::Impl(imp) = item else { return };
    let Some((_, trait_path, _)) = &imp.trait_ else {
        return;
    };
    let trait_name = match cx.handler_kind_of(imp) {
        Some(HandlerKind::Handler) => "Handler",
        Some(HandlerKind::EventHandler) => "EventHandler",
        Some(HandlerKind::Saga) | None => return,
    };
    let header = format!(
        "impl {} for {}",
        one_line(cx.text(cx.span(trait_path))),
        one_line(cx.text(cx.span(&*imp.self_ty)))
    );
    for attr in &imp.attrs {
        if !is_async_trait(attr.path(), cx) {
            continue;
        }
        let span = cx.span(attr);
        let written = one_line(cx.text(span));
        let removal = cx.source().removal_span(span);
        cx.report(
            span,
            format!(
                "`{written}` on `{header}` boxes the future of every `handle` call (one heap allocation per call); \
                 catga's `{trait_name}` takes `async fn` directly"
            ),
        )
        .help("remove the attribute and keep `async fn handle`")
        .fix(Fix::safe(format!("Remove `{written}` from the handler impl"), vec![Edit::delete(removal)]));
    }
    for impl_item in &imp.items {
        let syn::ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let syn::ReturnType::Type(_, ty) = &method.sig.output else {
            continue;
        };
        if method.sig.ident != "handle" {
            continue;
        }
        let Some(boxed) = boxed_future(ty, cx) else {
            continue;
        };
        let span = cx.span(&**ty);
        cx.report(
            span,
            format!(
                "`handle` of `{header}` returns `{boxed}` (one heap allocation per call); \
                 catga's `{trait_name}` takes `async fn`"
            ),
        )
        .help(
            "write `async fn handle(..)` and return the output directly: its future is not boxed",
        );
    }
}

/// Whether an attribute path names `async_trait::async_trait`.
fn is_async_trait(path: &syn::Path, cx: &RuleCx<'_>) -> bool {
    cx.resolve(path).as_deref() == Some("async_trait::async_trait")
}

/// The source text of a node on one line (multi-line attributes and types are rare but legal).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Pin<Box<dyn Future ..>>`, `BoxFuture` or `LocalBoxFuture` when `ty` is one of them.
fn boxed_future(ty: &syn::Type, cx: &RuleCx<'_>) -> Option<&'static str> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let resolved = cx.resolve(&path.path)?;
    let (krate, name) = (resolved.split("::").next()?, resolved.rsplit("::").next()?);
    if is_futures_crate(krate) && matches!(name, "BoxFuture" | "LocalBoxFuture") {
        return Some(if name == "BoxFuture" {
            "BoxFuture"
        } else {
            "LocalBoxFuture"
        });
    }
    if !matches!(resolved.as_str(), "std::pin::Pin" | "core::pin::Pin") {
        return None;
    }
    let syn::Type::Path(boxed) = first_type_argument(&path.path)? else {
        return None;
    };
    if !matches!(
        cx.resolve(&boxed.path)?.as_str(),
        "std::boxed::Box" | "alloc::boxed::Box"
    ) {
        return None;
    }
    let syn::Type::TraitObject(object) = first_type_argument(&boxed.path)? else {
        return None;
    };
    object
        .bounds
        .iter()
        .any(|bound| match bound {
            syn::TypeParamBound::Trait(bound) => {
                cx.resolve(&bound.path).is_some_and(|trait_path| {
                    trait_path.rsplit("::").next() == Some("Future")
                        && trait_path.split("::").next().is_some_and(|krate| {
                            krate == "std" || krate == "core" || is_futures_crate(krate)
                        })
                })
            }
            _ => false,
        })
        .then_some("Pin<Box<dyn Future>>")
}

fn is_futures_crate(krate: &str) -> bool {
    matches!(krate, "futures" | "futures_util" | "futures_core")
}
