//! CATGA014 saga-state-too-large: a saga's `State` that is large, or that holds a collection,
//! estimated from the type definitions across the workspace.

use crate::context::HandlerKind;
use crate::diagnostic::Severity;
use crate::facts::{TypeDef, TypeDefKind, TypeRef, TypeShape};
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};
use crate::workspace::{Located, WorkspaceCx, WorkspaceIndex};
use std::collections::{HashMap, HashSet};

static META: RuleMeta = RuleMeta {
    code: "CATGA014",
    name: "saga-state-too-large",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    fix_applicabilities: &[],
    summary: "A saga state type larger than `saga_state_max_bytes`, or holding a growing collection",
    docs: r#"## What it does
Reports the `State` of a saga (`impl Saga for S { type State = T; .. }`, outside test code) when
its estimated size is over `saga_state_max_bytes` (default 1024), or when it holds a collection
(`Vec`, `VecDeque`, `HashMap`, `BTreeMap`, `HashSet`, `BTreeSet`, `BinaryHeap`, `LinkedList`,
`SmallVec`, `IndexMap`, `IndexSet`, `DashMap`) directly or inside any of its field types that
are defined in the workspace. `String` alone is not reported.

The size is estimated from the type definitions, across files: primitives by their size
(`usize` 8), `[T; N]` as N times T, tuples and structs as the sum of their fields, `String`,
`Vec`, `Box`, `Arc`, `Rc` and references as their header (24, 24, 8, 8, 8; 16 for `&str` and
slices), `Option<T>` as T (plus 8 unless T holds a non-null pointer), enums as their largest
variant plus 8, nested workspace types by their own definition (a type that contains itself
counts 8 there, like the `Box` it must go through). Alignment and padding are ignored, so the
real size is somewhat larger. Types from outside the workspace that the rule does not know count
8 and the message says "at least".

## Why is this bad?
A saga's state is serialized and saved after every step, and loaded again to resume or
compensate. A large state makes every step pay for writing it; a collection in it grows with
every step or retry (a log, the lines of an order, the ids of everything touched) until the saved
record is megabytes, the store slows down, and resuming an old instance runs out of memory.

## Example
```rust
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckoutState {
    pub order_id: u64,
    pub lines: Vec<OrderLine>,
    pub audit: Vec<String>,
}

impl Saga for Checkout {
    type State = CheckoutState;
    // ...
}
```

## Use instead
```rust
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckoutState {
    pub order_id: u64,
    pub reservation_id: Option<u64>,
    pub payment_id: Option<String>,
}
```
Keep ids and small values in the state and load the rest from where it lives (the order's own
table, keyed by `order_id`). Log to tracing, not to the state.

## Fix safety
There is no fix: what belongs in the state is a design decision.

## Options
- `saga_state_max_bytes` (default 1024): the largest estimated state size, in bytes, that is not
  reported. Collections are reported whatever the limit.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        workspace: Some(check_workspace),
        ..Hooks::NONE
    },
};

/// Collections whose length grows with use, by last segment (when not a workspace type).
const COLLECTIONS: &[&str] = &[
    "Vec",
    "VecDeque",
    "HashMap",
    "BTreeMap",
    "HashSet",
    "BTreeSet",
    "BinaryHeap",
    "LinkedList",
    "SmallVec",
    "IndexMap",
    "IndexSet",
    "DashMap",
];

/// Generic std types whose size follows from their arguments.
const WRAPPERS: &[&str] = &[
    "Option",
    "Result",
    "Cell",
    "RefCell",
    "Mutex",
    "RwLock",
    "ManuallyDrop",
    "Wrapping",
];

/// Types that hold a non-null pointer, so `Option` of them costs nothing extra.
const NON_NULL: &[&str] = &[
    "Box",
    "Arc",
    "Rc",
    "String",
    "Vec",
    "VecDeque",
    "BTreeMap",
    "BTreeSet",
    "HashMap",
    "HashSet",
    "BinaryHeap",
    "LinkedList",
    "NonNull",
];

fn check_workspace(index: &WorkspaceIndex<'_>, cx: &mut WorkspaceCx<'_>) {
    let limit = cx.settings().saga_state_max_bytes;
    let mut estimator = Estimator {
        index,
        in_progress: Vec::new(),
        memo: HashMap::new(),
    };
    for saga in index.handler_impls() {
        let fact = saga.fact;
        if fact.kind != HandlerKind::Saga || fact.in_test {
            continue;
        }
        let Some((state, span)) = &fact.saga_state else {
            continue;
        };
        let top = render(state);
        let mut findings = Vec::new();
        let mut help = Vec::new();
        if let Some(found) = find_collection(index, state, &top) {
            let direct = matches!(state, TypeShape::Path { ty, .. } if ty.name == found.collection);
            findings.push(if found.label == top {
                let verb = if direct { "is" } else { "holds" };
                format!(
                    "saga state `{top}` {verb} a `{}`, which grows with every step",
                    found.collection
                )
            } else {
                format!(
                    "saga state `{top}` holds a `{}` that grows with every step: `{}: {}`",
                    found.collection, found.label, found.ty
                )
            });
            help.push("keep ids and small values in the state and store growing data where it lives, keyed by an id the state holds");
        }
        let size = estimator.shape(state);
        if size.bytes > limit {
            let at_least = if size.unknown { "at least " } else { "" };
            let subject = if findings.is_empty() {
                format!("saga state `{top}`")
            } else {
                "it".to_string()
            };
            let mut text = format!(
                "{subject} is {at_least}{}, over the {limit} B limit (`saga_state_max_bytes`)",
                human(size.bytes)
            );
            let largest = estimator.largest_fields(state);
            if !largest.is_empty() {
                text.push_str("; largest: ");
                text.push_str(&largest.join(", "));
            }
            findings.push(text);
            help.push("the state is saved after every step: move large data out of it and keep its id, or raise `saga_state_max_bytes`");
        }
        if findings.is_empty() {
            continue;
        }
        let message = findings.join("; ");
        cx.report(saga.path, *span, message).help(help.join("; "));
    }
}

/// A size estimate in bytes; `unknown` when a type that was not understood counted as 8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Estimate {
    bytes: u64,
    unknown: bool,
}

impl Estimate {
    fn known(bytes: u64) -> Estimate {
        Estimate {
            bytes,
            unknown: false,
        }
    }

    fn unknown(bytes: u64) -> Estimate {
        Estimate {
            bytes,
            unknown: true,
        }
    }

    fn plus(self, other: Estimate) -> Estimate {
        Estimate {
            bytes: self.bytes.saturating_add(other.bytes),
            unknown: self.unknown || other.unknown,
        }
    }

    fn times(self, count: u64) -> Estimate {
        Estimate {
            bytes: self.bytes.saturating_mul(count),
            unknown: self.unknown,
        }
    }

    fn max(self, other: Estimate) -> Estimate {
        Estimate {
            bytes: self.bytes.max(other.bytes),
            unknown: self.unknown || other.unknown,
        }
    }
}

/// What a path type names.
enum Named<'a, 't> {
    /// A type defined in the workspace.
    Workspace(Located<'a, TypeDef>),
    /// A primitive, std or well-known external type, by its last segment.
    Known(&'t str),
    /// Something else.
    Unknown,
}

/// Whether a type path is std's (so a workspace type of the same name is not meant).
fn is_std_path(path: &str) -> bool {
    matches!(path.split("::").next(), Some("std" | "core" | "alloc"))
}

fn classify<'a, 't>(index: &WorkspaceIndex<'a>, ty: &'t TypeRef) -> Named<'a, 't> {
    let name = ty.name.as_str();
    match ty.path.as_deref() {
        Some(path) if is_std_path(path) => return Named::Known(name),
        None if primitive_size(name).is_some() => return Named::Known(name),
        _ => {}
    }
    match index.definition(ty) {
        Some(def) => Named::Workspace(def),
        None if known_size(name, &[]).is_some()
            || COLLECTIONS.contains(&name)
            || WRAPPERS.contains(&name) =>
        {
            Named::Known(name)
        }
        None => Named::Unknown,
    }
}

fn primitive_size(name: &str) -> Option<u64> {
    Some(match name {
        "u8" | "i8" | "bool" => 1,
        "u16" | "i16" => 2,
        "u32" | "i32" | "f32" | "char" => 4,
        "u64" | "i64" | "f64" | "usize" | "isize" => 8,
        "u128" | "i128" => 16,
        _ => return None,
    })
}

/// The size of a known type that does not depend on its arguments.
fn known_size(name: &str, _args: &[TypeShape]) -> Option<u64> {
    if let Some(size) = primitive_size(name) {
        return Some(size);
    }
    Some(match name {
        "PhantomData" | "PhantomPinned" => 0,
        "Box" | "Arc" | "Rc" | "Weak" | "NonNull" => 8,
        "String" | "Vec" | "BTreeMap" | "BTreeSet" | "BinaryHeap" | "LinkedList" | "Cow"
        | "PathBuf" | "OsString" => 24,
        "VecDeque" => 32,
        "HashMap" | "HashSet" | "DashMap" => 48,
        "IndexMap" | "IndexSet" => 56,
        "Duration" | "Instant" | "SystemTime" | "Uuid" | "Ulid" | "Decimal" => 16,
        "NonZeroU8" | "NonZeroI8" => 1,
        "NonZeroU16" | "NonZeroI16" => 2,
        "NonZeroU32" | "NonZeroI32" => 4,
        "NonZeroU64" | "NonZeroI64" | "NonZeroUsize" | "NonZeroIsize" => 8,
        "NonZeroU128" | "NonZeroI128" => 16,
        _ => return None,
    })
}

/// Estimates sizes; remembers each workspace type's estimate and knows which are being
/// estimated (a cycle counts 8, like the `Box` it must go through).
struct Estimator<'i, 'a> {
    index: &'i WorkspaceIndex<'a>,
    in_progress: Vec<*const TypeDef>,
    memo: HashMap<*const TypeDef, Estimate>,
}

impl Estimator<'_, '_> {
    fn shape(&mut self, shape: &TypeShape) -> Estimate {
        match shape {
            TypeShape::Path { ty, args } => self.path(ty, args),
            TypeShape::Array { elem, len } => match len {
                Some(len) => self.shape(elem).times(*len),
                None => Estimate::unknown(0),
            },
            TypeShape::Tuple(elems) => elems
                .iter()
                .fold(Estimate::default(), |sum, elem| sum.plus(self.shape(elem))),
            TypeShape::Pointer => Estimate::known(8),
            TypeShape::WidePointer => Estimate::known(16),
            TypeShape::Other => Estimate::unknown(8),
        }
    }

    fn path(&mut self, ty: &TypeRef, args: &[TypeShape]) -> Estimate {
        match classify(self.index, ty) {
            Named::Workspace(def) => self.definition(def.fact),
            Named::Known(name) => self.known(name, args),
            Named::Unknown => Estimate::unknown(8),
        }
    }

    fn known(&mut self, name: &str, args: &[TypeShape]) -> Estimate {
        match (name, args) {
            ("Option", [inner]) => {
                let size = self.shape(inner);
                if non_null(inner) {
                    size
                } else {
                    size.plus(Estimate::known(8))
                }
            }
            ("Result", [ok, err]) => self.shape(ok).max(self.shape(err)).plus(Estimate::known(8)),
            ("Cell" | "RefCell" | "Mutex" | "RwLock" | "ManuallyDrop" | "Wrapping", [inner]) => {
                let extra = if name == "Cell" || name == "ManuallyDrop" || name == "Wrapping" {
                    0
                } else {
                    8
                };
                self.shape(inner).plus(Estimate::known(extra))
            }
            (
                "SmallVec",
                [
                    TypeShape::Array {
                        elem,
                        len: Some(len),
                    },
                ],
            ) => self.shape(elem).times(*len).plus(Estimate::known(8)),
            _ => match known_size(name, args) {
                Some(size) => Estimate::known(size),
                None => Estimate::unknown(8),
            },
        }
    }

    fn definition(&mut self, def: &TypeDef) -> Estimate {
        let key: *const TypeDef = def;
        if self.in_progress.contains(&key) {
            return Estimate::known(8);
        }
        if let Some(found) = self.memo.get(&key) {
            return *found;
        }
        self.in_progress.push(key);
        let mut largest = Estimate::default();
        for variant in &def.variants {
            let sum = variant.iter().fold(Estimate::default(), |sum, field| {
                sum.plus(self.shape(&field.ty))
            });
            largest = largest.max(sum);
        }
        if def.kind == TypeDefKind::Enum {
            largest = largest.plus(Estimate::known(8));
        }
        self.in_progress.pop();
        self.memo.insert(key, largest);
        largest
    }

    /// The three largest fields of a struct state, as "`name: Type` N B".
    fn largest_fields(&mut self, state: &TypeShape) -> Vec<String> {
        let TypeShape::Path { ty, .. } = state else {
            return Vec::new();
        };
        let Named::Workspace(def) = classify(self.index, ty) else {
            return Vec::new();
        };
        if def.fact.kind != TypeDefKind::Struct {
            return Vec::new();
        }
        let key: *const TypeDef = def.fact;
        self.in_progress.push(key);
        let mut fields: Vec<(u64, String)> = def
            .fact
            .variants
            .iter()
            .flatten()
            .enumerate()
            .map(|(position, field)| {
                let name = field.name.clone().unwrap_or_else(|| position.to_string());
                (
                    self.shape(&field.ty).bytes,
                    format!("`{name}: {}`", render(&field.ty)),
                )
            })
            .collect();
        self.in_progress.pop();
        fields.sort_by_key(|(bytes, _)| std::cmp::Reverse(*bytes));
        fields
            .into_iter()
            .filter(|(bytes, _)| *bytes > 0)
            .take(3)
            .map(|(bytes, field)| format!("{field} {bytes} B"))
            .collect()
    }
}

/// Whether `Option<shape>` is as large as `shape` (the niche of a non-null pointer).
fn non_null(shape: &TypeShape) -> bool {
    match shape {
        TypeShape::Pointer | TypeShape::WidePointer => true,
        TypeShape::Path { ty, .. } => {
            NON_NULL.contains(&ty.name.as_str()) || ty.name.starts_with("NonZero")
        }
        _ => false,
    }
}

/// A collection found in a state, and the way to it.
#[derive(Debug, PartialEq, Eq)]
struct FoundCollection {
    /// `CheckoutState.order.items`.
    label: String,
    /// The type of the last field on the way: `Vec<Item>`.
    ty: String,
    /// `Vec`.
    collection: String,
}

/// The first collection the state holds, directly or through workspace types (each visited
/// once).
fn find_collection(
    index: &WorkspaceIndex<'_>,
    state: &TypeShape,
    top: &str,
) -> Option<FoundCollection> {
    let mut visited = HashSet::new();
    search(index, state, top, top, &mut visited, 0)
}

fn search(
    index: &WorkspaceIndex<'_>,
    shape: &TypeShape,
    label: &str,
    field_ty: &str,
    visited: &mut HashSet<*const TypeDef>,
    depth: usize,
) -> Option<FoundCollection> {
    if depth > 64 {
        return None;
    }
    match shape {
        TypeShape::Path { ty, args } => {
            match classify(index, ty) {
                Named::Known(name) if COLLECTIONS.contains(&name) => {
                    return Some(FoundCollection {
                        label: label.to_string(),
                        ty: field_ty.to_string(),
                        collection: name.to_string(),
                    });
                }
                Named::Known("PhantomData") => return None,
                Named::Workspace(def) => {
                    let key: *const TypeDef = def.fact;
                    if visited.insert(key) {
                        let alias = def.fact.kind == TypeDefKind::Alias;
                        for (position, field) in def.fact.variants.iter().flatten().enumerate() {
                            let found = if alias {
                                search(index, &field.ty, label, field_ty, visited, depth + 1)
                            } else {
                                let name =
                                    field.name.clone().unwrap_or_else(|| position.to_string());
                                search(
                                    index,
                                    &field.ty,
                                    &format!("{label}.{name}"),
                                    &render(&field.ty),
                                    visited,
                                    depth + 1,
                                )
                            };
                            if found.is_some() {
                                return found;
                            }
                        }
                    }
                }
                _ => {}
            }
            args.iter()
                .find_map(|arg| search(index, arg, label, field_ty, visited, depth + 1))
        }
        TypeShape::Array { elem, .. } => search(index, elem, label, field_ty, visited, depth + 1),
        TypeShape::Tuple(elems) => elems
            .iter()
            .find_map(|elem| search(index, elem, label, field_ty, visited, depth + 1)),
        TypeShape::Pointer | TypeShape::WidePointer | TypeShape::Other => None,
    }
}

/// A type as people write it, from its shape: `Vec<Item>`, `[u8; 32]`, `(u64, String)`.
fn render(shape: &TypeShape) -> String {
    match shape {
        TypeShape::Path { ty, args } if args.is_empty() => ty.name.clone(),
        TypeShape::Path { ty, args } => format!(
            "{}<{}>",
            ty.name,
            args.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        TypeShape::Array { elem, len } => match len {
            Some(len) => format!("[{}; {len}]", render(elem)),
            None => format!("[{}; _]", render(elem)),
        },
        TypeShape::Tuple(elems) if elems.len() == 1 => {
            format!("({},)", render(&elems[0]))
        }
        TypeShape::Tuple(elems) => format!(
            "({})",
            elems.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        TypeShape::Pointer | TypeShape::WidePointer => "&_".to_string(),
        TypeShape::Other => "_".to_string(),
    }
}

/// `~1.6 KiB (1640 B)` from 1 KiB (the exact estimate too, since limits are in bytes), `~2.0 MiB`
/// from 1 MiB, bytes below.
fn human(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if bytes >= MIB {
        format!("~{:.1} MiB", value / MIB as f64)
    } else if bytes >= KIB {
        format!("~{:.1} KiB ({bytes} B)", value / KIB as f64)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str, args: Vec<TypeShape>) -> TypeShape {
        TypeShape::Path {
            ty: TypeRef {
                name: name.to_string(),
                path: None,
            },
            args,
        }
    }

    #[test]
    fn sizes_print_in_bytes_below_one_kib_and_in_kib_above() {
        assert_eq!(human(1000), "1000 B");
        assert_eq!(human(1640), "~1.6 KiB (1640 B)");
        assert_eq!(human(3 * 1024 * 1024), "~3.0 MiB");
    }

    #[test]
    fn types_render_as_written() {
        let shape = TypeShape::Tuple(vec![
            path("Vec", vec![path("Item", Vec::new())]),
            TypeShape::Array {
                elem: Box::new(path("u8", Vec::new())),
                len: Some(32),
            },
        ]);
        assert_eq!(render(&shape), "(Vec<Item>, [u8; 32])");
    }

    #[test]
    fn option_of_a_pointer_costs_nothing_extra_and_option_of_a_number_does() {
        let index = WorkspaceIndex::new(Vec::new());
        let mut estimator = Estimator {
            index: &index,
            in_progress: Vec::new(),
            memo: HashMap::new(),
        };
        let boxed = path("Option", vec![path("Box", vec![path("u8", Vec::new())])]);
        let number = path("Option", vec![path("u64", Vec::new())]);
        assert_eq!(estimator.shape(&boxed), Estimate::known(8));
        assert_eq!(estimator.shape(&number), Estimate::known(16));
        let external = path("Money", Vec::new());
        assert_eq!(estimator.shape(&external), Estimate::unknown(8));
    }
}
