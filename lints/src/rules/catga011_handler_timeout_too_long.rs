//! CATGA011 handler-timeout-too-long: a timeout above `max_handler_timeout` given to
//! `tokio::time::timeout` in handler code, to catga's `Timeout::after`, or to
//! `#[catga::handler(timeout = ..)]`. Durations are folded from their constant expressions.

use crate::context::is_test_attr;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::resolve::{Resolver, Scope};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use syn::visit::Visit;

static META: RuleMeta = RuleMeta {
    code: "CATGA011",
    name: "handler-timeout-too-long",
    severity: Severity::Warning,
    fix: FixAvailability::Always,
    fix_applicabilities: &[Applicability::Unsafe],
    summary: "A timeout above `max_handler_timeout` (default 30 s) on a handler, a `Timeout` behavior or `tokio::time::timeout` in handler code",
    docs: r#"## What it does
Reports a `std::time::Duration` longer than `max_handler_timeout` given to:

- `tokio::time::timeout(d, ..)` in handler code (the body of a `Handler`, `EventHandler` or
  `Saga` impl);
- catga's timeout behavior, `Timeout::after(d)`, anywhere but test code;
- `#[catga::handler(timeout = d)]`, outside test code.

The duration is folded from its constant expression: `Duration::from_secs`, `from_millis`,
`from_micros`, `from_nanos`, `from_secs_f32`, `from_secs_f64`, `from_mins`, `from_hours`,
`Duration::new(s, n)`, `Duration::MAX`, integer and float literals (suffixes and underscores
included), `+ - * /`, parentheses, `as` casts, `Duration * n`, and `const` items of the same
file (`const TIMEOUT: Duration = ..;`, `const SECS: u64 = 90;`). A duration that cannot be
folded (a variable, a value read from configuration, a function call) is not reported; neither
is a timeout equal to the maximum, a `tokio::time::sleep`, or a local type called `Timeout`.

## Why is this bad?
A timeout is how long a caller is prepared to wait. A handler allowed minutes holds its caller,
its connections and its locks that long, a retry behavior multiplies it, and the service's own
callers have usually given up well before: the work goes on for nobody. Long-running work belongs
in a background job (a saga step, the outbox), where the handler only records that it must
happen.

## Example
```rust
impl Handler<ExportOrders> for ExportOrdersHandler {
    async fn handle(&self, cmd: ExportOrders, ctx: &Context) -> catga::Result<u64> {
        let rows = tokio::time::timeout(Duration::from_secs(300), self.db.export()).await??;
        Ok(rows)
    }
}

let mediator = Mediator::builder()
    .behavior(Timeout::after(Duration::from_secs(120)))
    .build()?;
```

## Use instead
```rust
impl Handler<ExportOrders> for ExportOrdersHandler {
    async fn handle(&self, cmd: ExportOrders, ctx: &Context) -> catga::Result<u64> {
        let rows = tokio::time::timeout(Duration::from_secs(30), self.db.export()).await??;
        Ok(rows)
    }
}

let mediator = Mediator::builder()
    .behavior(Timeout::after(Duration::from_secs(30)))
    .build()?;
```

## Fix safety
The fix replaces the duration expression with the maximum, written `Duration::from_secs(30)`
(`from_millis` when the maximum is not whole seconds; `std::time::Duration::` when `Duration` is
not imported there). A `const` the expression used is left as it is. It is unsafe: work that
needed the longer timeout now fails with a timeout error.

## Options
- `max_handler_timeout`: the longest timeout allowed, as a whole number with `ms`, `s`, `m` or
  `h` (default `"30s"`).
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        item: Some(check_item),
        expr: Some(check_expr),
        ..Hooks::NONE
    },
};

/// The paths `Duration` may resolve to.
const DURATION_TYPES: &[&str] = &[
    "std::time::Duration",
    "core::time::Duration",
    "tokio::time::Duration",
];

const NANOS_PER_SEC: u128 = 1_000_000_000;

fn check_expr(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
    let syn::Expr::Call(call) = expr else { return };
    // Every call of every file comes here: resolve only the two names that can matter.
    let syn::Expr::Path(func) = &*call.func else {
        return;
    };
    let last = func.path.segments.last().map(|segment| &segment.ident);
    if !last.is_some_and(|ident| ident == "timeout" || ident == "after") {
        return;
    }
    let Some(path) = cx.resolve_expr(&call.func) else {
        return;
    };
    let (duration, site) = if path == "tokio::time::timeout" {
        if !cx.in_handler() || call.args.len() != 2 {
            return;
        }
        (&call.args[0], "`tokio::time::timeout` in handler code")
    } else if path.starts_with("catga::") && path.ends_with("::Timeout::after") {
        if cx.in_test() || call.args.len() != 1 {
            return;
        }
        (&call.args[0], "the `Timeout::after` behavior")
    } else {
        return;
    };
    check_duration(duration, site.to_string(), cx);
}

fn check_item(item: &syn::Item, cx: &mut RuleCx<'_>) {
    let syn::Item::Impl(imp) = item else { return };
    if cx.in_test() || is_test_attr(&imp.attrs) {
        return;
    }
    for attr in &imp.attrs {
        let syn::Meta::List(list) = &attr.meta else {
            continue;
        };
        if cx.resolve(&list.path).as_deref() != Some("catga::handler") {
            continue;
        }
        let Ok(args) = list.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        for arg in &args {
            if let syn::Meta::NameValue(name_value) = arg
                && name_value.path.is_ident("timeout")
            {
                let trait_text = imp
                    .trait_
                    .as_ref()
                    .map_or_else(String::new, |(_, path, _)| {
                        format!("{} for ", one_line(cx.text(cx.span(path))))
                    });
                let site = format!(
                    "`#[{}(timeout = ..)]` on `impl {trait_text}{}`",
                    one_line(cx.text(cx.span(&list.path))),
                    one_line(cx.text(cx.span(&*imp.self_ty)))
                );
                check_duration(&name_value.value, site, cx);
            }
        }
    }
}

/// Fold `expr`; report it when it is a duration above the maximum.
fn check_duration(expr: &syn::Expr, site: String, cx: &mut RuleCx<'_>) {
    let max = cx.settings().max_handler_timeout.as_nanos();
    let mut folder = Folder { cx: &*cx, depth: 0 };
    let Some(Value::Duration(nanos)) = folder.fold(expr, None) else {
        return;
    };
    if nanos <= max {
        return;
    }
    let prefix = if cx
        .resolve(&syn::Path::from(syn::Ident::new(
            "Duration",
            proc_macro2::Span::call_site(),
        )))
        .is_some_and(|resolved| DURATION_TYPES.contains(&resolved.as_str()))
    {
        "Duration::"
    } else {
        "std::time::Duration::"
    };
    let replacement = format!("{prefix}{}", constructor(max));
    let (value, limit) = (describe(nanos), describe(max));
    let span = cx.span(expr);
    cx.report(
        span,
        format!("a timeout of {value} given to {site} exceeds `max_handler_timeout` ({limit})"),
    )
    .help(format!(
        "keep handler timeouts at or below {limit} and move longer work to a background job; \
         raise `max_handler_timeout` in catga.toml if the limit is wrong for this project"
    ))
    .fix(Fix::unsafe_edits(
        format!("Clamp the timeout to {limit} (`{replacement}`)"),
        vec![Edit::replace(span, replacement)],
    ));
}

/// A folded constant.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Int(i128),
    Float(f64),
    /// A `Duration`, in nanoseconds.
    Duration(u128),
}

/// Folds constant expressions; `None` is "not a constant we understand".
struct Folder<'c, 'a> {
    cx: &'c RuleCx<'a>,
    /// How many `const` items deep the fold is (bounds cycles).
    depth: u32,
}

impl Folder<'_, '_> {
    /// Resolve `path` at the site (`scope` is `None`) or in the scope a `const` was declared in.
    fn resolve(&self, path: &syn::Path, scope: Option<&Resolver>) -> Option<String> {
        match scope {
            Some(resolver) => resolver.resolve(path),
            None => self.cx.resolve(path),
        }
    }

    fn fold(&mut self, expr: &syn::Expr, scope: Option<&Resolver>) -> Option<Value> {
        match expr {
            syn::Expr::Lit(lit) => literal(&lit.lit),
            syn::Expr::Paren(inner) => self.fold(&inner.expr, scope),
            syn::Expr::Group(inner) => self.fold(&inner.expr, scope),
            syn::Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => {
                match self.fold(&unary.expr, scope)? {
                    Value::Int(value) => value.checked_neg().map(Value::Int),
                    Value::Float(value) => Some(Value::Float(-value)),
                    Value::Duration(_) => None,
                }
            }
            syn::Expr::Binary(binary) => {
                let left = self.fold(&binary.left, scope)?;
                let right = self.fold(&binary.right, scope)?;
                arithmetic(&binary.op, left, right)
            }
            syn::Expr::Cast(cast) => cast_to(self.fold(&cast.expr, scope)?, &cast.ty),
            syn::Expr::Call(call) => {
                let syn::Expr::Path(func) = &*call.func else {
                    return None;
                };
                if func.qself.is_some() {
                    return None;
                }
                let resolved = self.resolve(&func.path, scope)?;
                let function = duration_item(&resolved)?;
                let args = call
                    .args
                    .iter()
                    .map(|arg| self.fold(arg, scope))
                    .collect::<Option<Vec<_>>>()?;
                construct(function, &args)
            }
            syn::Expr::Path(path) if path.qself.is_none() => {
                let resolved = self.resolve(&path.path, scope)?;
                match duration_item(&resolved) {
                    Some("MAX") => Some(Value::Duration(
                        u128::from(u64::MAX) * NANOS_PER_SEC + (NANOS_PER_SEC - 1),
                    )),
                    Some("ZERO") => Some(Value::Duration(0)),
                    _ => self.constant(&resolved),
                }
            }
            _ => None,
        }
    }

    /// The value of a `const` of this file named by `resolved` (`self::TIMEOUT`,
    /// `self::limits::TIMEOUT`, `Self::TIMEOUT`): every `const` of the file with that name must
    /// fold to the same value.
    fn constant(&mut self, resolved: &str) -> Option<Value> {
        if !(resolved.starts_with("self::") || resolved.starts_with("Self::")) || self.depth >= 8 {
            return None;
        }
        let name = resolved.rsplit("::").next()?;
        let file = self.cx.file();
        let mut finder = ConstFinder {
            name,
            modules: vec![&file.items],
            found: Vec::new(),
        };
        finder.visit_file(file);
        let mut value = None;
        self.depth += 1;
        for (modules, expr) in &finder.found {
            let mut resolver = Resolver::for_file(file);
            for items in &modules[1..] {
                resolver.push(Scope::module(items));
            }
            let folded = self.fold(expr, Some(&resolver));
            if folded.is_none() || (value.is_some() && value != folded) {
                value = None;
                break;
            }
            value = folded;
        }
        self.depth -= 1;
        value
    }
}

/// Every `const NAME` of a file, with the items of the modules enclosing it (outermost first).
struct ConstFinder<'n, 'f> {
    name: &'n str,
    modules: Vec<&'f [syn::Item]>,
    found: Vec<(Vec<&'f [syn::Item]>, &'f syn::Expr)>,
}

impl<'f> Visit<'f> for ConstFinder<'_, 'f> {
    fn visit_item_mod(&mut self, item: &'f syn::ItemMod) {
        if let Some((_, items)) = &item.content {
            self.modules.push(items);
            syn::visit::visit_item_mod(self, item);
            self.modules.pop();
        }
    }

    fn visit_item_const(&mut self, item: &'f syn::ItemConst) {
        if item.ident == self.name {
            self.found.push((self.modules.clone(), &item.expr));
        }
        syn::visit::visit_item_const(self, item);
    }

    fn visit_impl_item_const(&mut self, item: &'f syn::ImplItemConst) {
        if item.ident == self.name {
            self.found.push((self.modules.clone(), &item.expr));
        }
        syn::visit::visit_impl_item_const(self, item);
    }
}

/// `from_secs` for `std::time::Duration::from_secs` (and the other paths of `Duration`).
fn duration_item(resolved: &str) -> Option<&str> {
    let (ty, item) = resolved.rsplit_once("::")?;
    DURATION_TYPES.contains(&ty).then_some(item)
}

fn literal(lit: &syn::Lit) -> Option<Value> {
    match lit {
        syn::Lit::Int(int) if matches!(int.suffix(), "f32" | "f64") => {
            int.base10_parse::<f64>().ok().map(Value::Float)
        }
        syn::Lit::Int(int) => int.base10_parse::<i128>().ok().map(Value::Int),
        syn::Lit::Float(float) => float.base10_parse::<f64>().ok().map(Value::Float),
        _ => None,
    }
}

fn arithmetic(op: &syn::BinOp, left: Value, right: Value) -> Option<Value> {
    use Value::{Duration, Float, Int};
    match (op, left, right) {
        (syn::BinOp::Add(_), Int(a), Int(b)) => a.checked_add(b).map(Int),
        (syn::BinOp::Sub(_), Int(a), Int(b)) => a.checked_sub(b).map(Int),
        (syn::BinOp::Mul(_), Int(a), Int(b)) => a.checked_mul(b).map(Int),
        (syn::BinOp::Div(_), Int(a), Int(b)) => a.checked_div(b).map(Int),
        (syn::BinOp::Add(_), Float(a), Float(b)) => Some(Float(a + b)),
        (syn::BinOp::Sub(_), Float(a), Float(b)) => Some(Float(a - b)),
        (syn::BinOp::Mul(_), Float(a), Float(b)) => Some(Float(a * b)),
        (syn::BinOp::Div(_), Float(a), Float(b)) if b != 0.0 => Some(Float(a / b)),
        (syn::BinOp::Add(_), Duration(a), Duration(b)) => a.checked_add(b).map(Duration),
        (syn::BinOp::Sub(_), Duration(a), Duration(b)) => a.checked_sub(b).map(Duration),
        (syn::BinOp::Mul(_), Duration(d), Int(n)) | (syn::BinOp::Mul(_), Int(n), Duration(d)) => {
            d.checked_mul(u128::try_from(n).ok()?).map(Duration)
        }
        (syn::BinOp::Div(_), Duration(d), Int(n)) => {
            d.checked_div(u128::try_from(n).ok()?).map(Duration)
        }
        _ => None,
    }
}

fn cast_to(value: Value, ty: &syn::Type) -> Option<Value> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let name = path.path.get_ident()?.to_string();
    match (value, name.as_str()) {
        (Value::Int(value), "f32" | "f64") => Some(Value::Float(value as f64)),
        (Value::Float(value), "f32" | "f64") => Some(Value::Float(value)),
        (Value::Int(value), _) if is_integer_type(&name) => Some(Value::Int(value)),
        (Value::Float(value), _) if is_integer_type(&name) && value.is_finite() => {
            Some(Value::Int(value.trunc() as i128))
        }
        _ => None,
    }
}

fn is_integer_type(name: &str) -> bool {
    matches!(
        name,
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
    )
}

/// The duration a `Duration` constructor builds from folded arguments.
fn construct(function: &str, args: &[Value]) -> Option<Value> {
    let whole = |value: &Value| match value {
        Value::Int(value) => u64::try_from(*value).ok().map(u128::from),
        _ => None,
    };
    let nanos = match (function, args) {
        ("from_secs", [secs]) => whole(secs)?.checked_mul(NANOS_PER_SEC)?,
        ("from_millis", [millis]) => whole(millis)?.checked_mul(1_000_000)?,
        ("from_micros", [micros]) => whole(micros)?.checked_mul(1_000)?,
        ("from_nanos", [nanos]) => whole(nanos)?,
        ("from_mins", [mins]) => whole(mins)?.checked_mul(60 * NANOS_PER_SEC)?,
        ("from_hours", [hours]) => whole(hours)?.checked_mul(3600 * NANOS_PER_SEC)?,
        ("new", [secs, nanos]) => {
            let extra = whole(nanos)?;
            u32::try_from(extra).ok()?;
            whole(secs)?
                .checked_mul(NANOS_PER_SEC)?
                .checked_add(extra)?
        }
        ("from_secs_f32" | "from_secs_f64", [secs]) => {
            let secs = match secs {
                Value::Float(secs) => *secs,
                Value::Int(secs) => *secs as f64,
                Value::Duration(_) => return None,
            };
            let nanos = (secs * 1e9).round();
            if !(0.0..=1.8e28).contains(&nanos) {
                return None;
            }
            nanos as u128
        }
        _ => return None,
    };
    Some(Value::Duration(nanos))
}

/// How a person writes a duration: `90s`, `2m`, `1h`, `500ms`, `1.5s`.
fn describe(nanos: u128) -> String {
    let (secs, fraction) = (nanos / NANOS_PER_SEC, nanos % NANOS_PER_SEC);
    if fraction == 0 {
        return if secs >= 3600 && secs.is_multiple_of(3600) {
            format!("{}h", secs / 3600)
        } else if secs >= 60 && secs.is_multiple_of(60) {
            format!("{}m", secs / 60)
        } else {
            format!("{secs}s")
        };
    }
    if secs == 0 && fraction.is_multiple_of(1_000_000) {
        return format!("{}ms", fraction / 1_000_000);
    }
    let digits = format!("{fraction:09}");
    format!("{secs}.{}s", digits.trim_end_matches('0'))
}

/// The natural constructor for a duration: `from_secs(30)`, else `from_millis`, ...
fn constructor(nanos: u128) -> String {
    if nanos.is_multiple_of(NANOS_PER_SEC) {
        format!("from_secs({})", nanos / NANOS_PER_SEC)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("from_millis({})", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("from_micros({})", nanos / 1_000)
    } else {
        format!("from_nanos({nanos})")
    }
}

/// The source text of a node on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CATGA011 message for `Timeout::after(expr)` in a file holding `items`.
    fn reported(items: &str, expr: &str) -> Option<String> {
        crate::check::diagnostics_for_test(
            &format!("{items}\nfn site() {{ let _ = catga::behavior::Timeout::after({expr}); }}\n"),
            &[],
        )
        .into_iter()
        .find(|diagnostic| diagnostic.code == "CATGA011")
        .map(|diagnostic| diagnostic.message)
    }

    #[test]
    fn literals_arithmetic_and_constructors_fold() {
        let int = |text: &str| literal(&syn::parse_str::<syn::Lit>(text).unwrap());
        assert_eq!(int("1_500u64"), Some(Value::Int(1500)));
        assert_eq!(int("2.5"), Some(Value::Float(2.5)));
        assert_eq!(
            construct("new", &[Value::Int(90), Value::Int(5)]),
            Some(Value::Duration(90 * NANOS_PER_SEC + 5))
        );
        assert_eq!(
            construct("from_secs_f64", &[Value::Float(1.5)]),
            Some(Value::Duration(1_500_000_000))
        );
        assert_eq!(construct("from_secs", &[Value::Int(-1)]), None);
        assert_eq!(construct("from_secs", &[Value::Float(1.0)]), None);
        assert_eq!(
            construct("new", &[Value::Int(1), Value::Int(1 << 40)]),
            None
        );
        let mul = syn::parse_str::<syn::BinOp>("*").unwrap();
        assert_eq!(
            arithmetic(&mul, Value::Int(3), Value::Duration(10)),
            Some(Value::Duration(30))
        );
        let div = syn::parse_str::<syn::BinOp>("/").unwrap();
        assert_eq!(arithmetic(&div, Value::Duration(10), Value::Int(0)), None);
        assert_eq!(
            arithmetic(&div, Value::Int(7), Value::Int(2)),
            Some(Value::Int(3))
        );
    }

    #[test]
    fn durations_are_described_and_written_naturally() {
        assert_eq!(describe(90 * NANOS_PER_SEC), "90s");
        assert_eq!(describe(120 * NANOS_PER_SEC), "2m");
        assert_eq!(describe(7200 * NANOS_PER_SEC), "2h");
        assert_eq!(describe(500_000_000), "500ms");
        assert_eq!(describe(1_500_000_000), "1.5s");
        assert_eq!(constructor(30 * NANOS_PER_SEC), "from_secs(30)");
        assert_eq!(constructor(2_500_000_000), "from_millis(2500)");
    }

    #[test]
    fn file_constants_fold_through_each_other_and_unknowns_stay_quiet() {
        let items = "use std::time::Duration;\nconst SECS: u64 = 45;\nconst LIMIT: Duration = Duration::from_secs(SECS * 2);";
        let message = reported(items, "LIMIT").unwrap_or_default();
        assert!(message.contains("a timeout of 90s"), "{message}");
        assert!(message.contains("(30s)"), "{message}");
        assert_eq!(reported(items, "Duration::from_secs(SECS) / 2"), None);
        let message = reported(
            items,
            "Duration::from_secs(SECS) * 2 / 3 + Duration::from_millis(1)",
        )
        .unwrap_or_default();
        assert!(message.contains("30.001s"), "{message}");
        assert_eq!(reported(items, "Duration::from_secs(read_secs())"), None);
        let cycle = "use std::time::Duration;\nconst A: Duration = B;\nconst B: Duration = A;";
        assert_eq!(reported(cycle, "A"), None);
        let ambiguous =
            "use std::time::Duration;\nconst T: u64 = 10;\nmod m { pub const T: u64 = 90; }";
        assert_eq!(reported(ambiguous, "Duration::from_secs(T)"), None);
    }
}
