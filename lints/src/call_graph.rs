//! The crate's own call graph, for blocking one call away: a plain fn that sleeps, blocks on a
//! future or does blocking I/O makes every async fn that calls it block too, however many plain
//! fns lie between.
//!
//! Each file records, per fn with a body, the blocking calls its body makes on its own thread
//! (not in a closure handed elsewhere, not in an async block) and its calls to fns of the
//! workspace: free fns by module path (`shop::db::wait_for_tx`), methods on `self` and
//! `Self::f` by the impl's type (`shop::db::Store::flush`). Method calls on other receivers are
//! only syntax and are not followed. The workspace pass ([`BlockingChains`]) joins them.

use crate::context::{ClosureKind, Frame, ScopeView};
use crate::diagnostic::Span;
use crate::resolve::Resolver;
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Free functions that block the calling thread, by full path.
const BLOCKING_FUNCTIONS: &[&str] = &[
    "std::thread::sleep",
    "futures::executor::block_on",
    "futures_executor::block_on",
    "pollster::block_on",
    "async_std::task::block_on",
    "smol::block_on",
    "futures_lite::future::block_on",
    "async_io::block_on",
    "std::fs::File::open",
    "std::fs::File::create",
    "std::net::TcpStream::connect",
];

/// Methods that block whatever their receiver (tokio's blocking bridges, a runtime's
/// `block_on`).
const BLOCKING_METHODS: &[&str] = &[
    "block_on",
    "blocking_recv",
    "blocking_send",
    "blocking_lock",
    "blocking_read",
    "blocking_write",
];

/// Methods that wait for a process to end (of `std::process::Command` or its `Child`).
const PROCESS_WAITS: &[&str] = &["output", "status", "wait", "wait_with_output"];

/// A call site: what is called, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSite {
    /// A workspace fn's path (`shop::db::wait_for_tx`), or the blocking call as the chain names
    /// it (`std::thread::sleep`, `.block_on(..)`).
    pub callee: String,
    /// The call expression.
    pub span: Span,
    /// For a call from async code: where, for messages ("async fn `handle`").
    pub async_context: Option<String>,
}

/// One fn with a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FnNode {
    /// `shop::db::wait_for_tx`, `shop::db::Store::flush`.
    pub path: String,
    /// `async fn`.
    pub is_async: bool,
    /// Blocking calls its body makes on the calling thread.
    pub blocks: Vec<CallSite>,
    /// Calls to fns of the workspace (on the calling thread, or from async code in it).
    pub calls: Vec<CallSite>,
}

/// How a call relates to the fn around it.
struct Placement {
    /// Runs on the fn's own thread when the fn runs: only immediately called and in-place
    /// closures lie between.
    direct: bool,
    /// Runs as part of a future.
    async_context: Option<String>,
}

fn placement(frames: &[Frame]) -> Placement {
    let async_context = ScopeView { frames }
        .async_context()
        .map(|context| context.to_string());
    let mut direct = true;
    for frame in frames.iter().rev() {
        match frame {
            Frame::Fn { .. } => break,
            Frame::Closure(ClosureKind::ImmediatelyCalled | ClosureKind::InPlace) => {}
            Frame::AsyncBlock | Frame::Closure(_) => direct = false,
            Frame::Impl { .. } | Frame::Test => {}
        }
    }
    Placement {
        direct,
        async_context,
    }
}

/// Records the call graph during the walk: [`CallGraphRecorder::enter_fn`] /
/// [`CallGraphRecorder::leave_fn`] around every fn, [`CallGraphRecorder::expr`] on every
/// expression.
#[derive(Debug, Default)]
pub(crate) struct CallGraphRecorder {
    pub(crate) nodes: Vec<FnNode>,
    /// Per enclosing fn, innermost last: its node, or `None` for a fn nested in another body
    /// (callable only there: not a node, and its calls are not its parent's).
    stack: Vec<Option<usize>>,
    /// Per enclosing impl, innermost last: its self type's workspace path.
    impls: Vec<Option<String>>,
}

impl CallGraphRecorder {
    /// Entering an impl whose self type is `self_ty`.
    pub(crate) fn enter_impl(&mut self, self_ty: &syn::Type, resolver: &Resolver) {
        let path = crate::facts::type_path(self_ty).and_then(|path| resolver.canonical(path));
        self.impls.push(path);
    }

    pub(crate) fn leave_impl(&mut self) {
        self.impls.pop();
    }

    /// The workspace path of a method `name` of the innermost impl.
    pub(crate) fn method_path(&self, name: &syn::Ident) -> Option<String> {
        Some(format!("{}::{name}", self.impls.last().cloned().flatten()?))
    }

    /// Entering fn `sig`, whose workspace path is `path` (`None` for a fn that is no node: a
    /// trait's default method, a fn of an impl whose type has no path). A fn nested in another
    /// fn's body is no node either.
    pub(crate) fn enter_fn(&mut self, sig: &syn::Signature, path: Option<String>) {
        let node = match path {
            Some(path) if self.stack.is_empty() => {
                self.nodes.push(FnNode {
                    path,
                    is_async: sig.asyncness.is_some(),
                    blocks: Vec::new(),
                    calls: Vec::new(),
                });
                Some(self.nodes.len() - 1)
            }
            _ => None,
        };
        self.stack.push(node);
    }

    pub(crate) fn leave_fn(&mut self) {
        self.stack.pop();
    }

    /// Record `expr` if it is a blocking call or a call of a workspace fn.
    pub(crate) fn expr(
        &mut self,
        expr: &syn::Expr,
        frames: &[Frame],
        resolver: &Resolver,
        source: &SourceFile,
        crate_name: &str,
    ) {
        let Some(Some(node)) = self.stack.last().copied() else {
            return;
        };
        // The callee's name is where a finding points; a span of the whole call would cost the
        // size of its arguments (spans are computed from tokens).
        let (callee, at) = match expr {
            syn::Expr::Call(call) => {
                let syn::Expr::Path(path) = &*call.func else {
                    return;
                };
                if path.qself.is_some() {
                    return;
                }
                let Some(full) = resolver.resolve(&path.path) else {
                    return;
                };
                let local = ["crate::", "self::", "super::", "Self::"]
                    .iter()
                    .any(|prefix| full.starts_with(prefix));
                let callee = if local {
                    match self.workspace_fn(&path.path, resolver, crate_name) {
                        Some(path) => Callee::Workspace(path),
                        None => return,
                    }
                } else if BLOCKING_FUNCTIONS.contains(&full.as_str())
                    || full.strip_prefix("std::fs::").is_some_and(|rest| {
                        rest.starts_with(char::is_lowercase) && !rest.contains("::")
                    })
                {
                    Callee::Blocking(full)
                } else {
                    return;
                };
                (callee, source.span_of(&path.path))
            }
            syn::Expr::MethodCall(call) => {
                // Most method calls are none of these: decide before naming the method.
                let on_self =
                    matches!(&*call.receiver, syn::Expr::Path(path) if path.path.is_ident("self"));
                if !on_self
                    && !BLOCKING_METHODS
                        .iter()
                        .chain(PROCESS_WAITS)
                        .any(|name| call.method == name)
                {
                    return;
                }
                let method = call.method.to_string();
                let callee = if BLOCKING_METHODS.contains(&method.as_str())
                    && (method != "block_on" || call.args.len() == 1)
                {
                    Callee::Blocking(blocking_method_name(call, &method, resolver))
                } else if let Some(process) = process_wait(call, &method, resolver) {
                    Callee::Blocking(process)
                } else if on_self {
                    match self.method_path(&call.method) {
                        Some(path) => Callee::Workspace(path),
                        None => return,
                    }
                } else {
                    return;
                };
                (callee, source.span_of(&call.method))
            }
            _ => return,
        };
        let placement = placement(frames);
        let site = |callee: String| CallSite {
            callee,
            span: at,
            async_context: placement.async_context.clone(),
        };
        let node = &mut self.nodes[node];
        match callee {
            Callee::Blocking(what) if placement.direct && !node.is_async => {
                node.blocks.push(site(what));
            }
            Callee::Workspace(path) if placement.direct || placement.async_context.is_some() => {
                node.calls.push(site(path));
            }
            _ => {}
        }
    }

    /// The workspace path of a fn named by `path`, when it lies in this crate.
    fn workspace_fn(
        &self,
        path: &syn::Path,
        resolver: &Resolver,
        crate_name: &str,
    ) -> Option<String> {
        let first = path.segments.first()?;
        let full = if first.ident == "Self" && path.segments.len() == 2 {
            format!(
                "{}::{}",
                self.impls.last().cloned().flatten()?,
                path.segments[1].ident
            )
        } else {
            resolver.canonical(path)?
        };
        full.strip_prefix(crate_name)
            .is_some_and(|rest| rest.starts_with("::"))
            .then_some(full)
    }
}

/// `std::process::Command::output` (or `status`, or a spawned child's `wait`) when `call` runs
/// a process to its end and its chain starts at `std::process::Command::new`.
fn process_wait(call: &syn::ExprMethodCall, method: &str, resolver: &Resolver) -> Option<String> {
    if !PROCESS_WAITS.contains(&method) {
        return None;
    }
    let chain = crate::semantic::method_chain(&call.receiver);
    let syn::Expr::Call(root) = chain.root else {
        return None;
    };
    if resolver.resolve_expr(&root.func).as_deref() != Some("std::process::Command::new") {
        return None;
    }
    let spawned = chain.methods.iter().any(|name| *name == "spawn");
    match (method, spawned) {
        ("output" | "status", false) => Some(format!("std::process::Command::{method}")),
        ("wait" | "wait_with_output", true) => Some(format!("std::process::Child::{method}")),
        _ => None,
    }
}

/// `tokio::runtime::Handle::block_on` when the receiver evidently is a handle or runtime
/// (`Handle::current().block_on(..)`), else `.block_on(..)`.
fn blocking_method_name(call: &syn::ExprMethodCall, method: &str, resolver: &Resolver) -> String {
    let root = crate::semantic::method_chain(&call.receiver).root;
    let owner = match root {
        syn::Expr::Call(root) => resolver.resolve_expr(&root.func).and_then(|path| {
            let (owner, _) = path.rsplit_once("::")?;
            matches!(owner, "tokio::runtime::Handle" | "tokio::runtime::Runtime")
                .then(|| owner.to_string())
        }),
        _ => None,
    };
    match owner {
        Some(owner) => format!("{owner}::{method}"),
        None => format!(".{method}(..)"),
    }
}

enum Callee {
    Blocking(String),
    Workspace(String),
}

/// For every plain fn of the workspace that blocks, directly or through other plain fns: the
/// chain of fn names down to the blocking call.
#[derive(Debug)]
pub struct BlockingChains<'a> {
    nodes: Nodes<'a>,
    memo: HashMap<&'a str, Option<Vec<String>>>,
}

/// Where the definitions of a path are looked up.
#[derive(Debug)]
enum Nodes<'a> {
    /// Every definition of a path (cfg variants may define one twice).
    Own(HashMap<&'a str, Vec<&'a FnNode>>),
    /// The workspace index's table of fns: no pass over the fns to build one.
    Index(&'a crate::workspace::WorkspaceIndex<'a>),
}

impl<'a> BlockingChains<'a> {
    /// Index `nodes`.
    pub fn new(nodes: impl IntoIterator<Item = &'a FnNode>) -> BlockingChains<'a> {
        let mut index: HashMap<&'a str, Vec<&'a FnNode>> = HashMap::new();
        for node in nodes {
            index.entry(node.path.as_str()).or_default().push(node);
        }
        BlockingChains {
            nodes: Nodes::Own(index),
            memo: HashMap::new(),
        }
    }

    /// The fns of `index`, through its table of fns.
    pub fn on_index(index: &'a crate::workspace::WorkspaceIndex<'a>) -> BlockingChains<'a> {
        BlockingChains {
            nodes: Nodes::Index(index),
            memo: HashMap::new(),
        }
    }

    fn definitions(&self, path: &str) -> Vec<&'a FnNode> {
        match &self.nodes {
            Nodes::Own(nodes) => nodes.get(path).cloned().unwrap_or_default(),
            Nodes::Index(index) => index.fn_definitions(path),
        }
    }

    /// The chain from `path` to a blocking call (`["wait_for_tx", ".block_on(..)"]`), when
    /// `path` is a plain fn of the workspace that blocks; every definition of it must (so a
    /// cfg variant that does not keeps it quiet).
    pub fn chain(&mut self, path: &'a str) -> Option<Vec<String>> {
        if let Some(known) = self.memo.get(path) {
            return known.clone();
        }
        // Cycles: a fn is taken not to block while its own chain is being worked out.
        self.memo.insert(path, None);
        let definitions = self.definitions(path);
        let mut chain = None;
        if !definitions.is_empty() && definitions.iter().all(|node| !node.is_async) {
            let mut all = true;
            let mut found = None;
            for node in &definitions {
                let own = node
                    .blocks
                    .first()
                    .map(|site| vec![site.callee.clone()])
                    .or_else(|| {
                        node.calls
                            .iter()
                            .filter(|site| site.async_context.is_none())
                            .find_map(|site| self.chain(site.callee.as_str()))
                    });
                match own {
                    Some(own) => found = found.or(Some(own)),
                    None => all = false,
                }
            }
            if all && let Some(rest) = found {
                let name = path.rsplit("::").next().unwrap_or(path).to_string();
                chain = Some(std::iter::once(name).chain(rest).collect());
            }
        }
        self.memo.insert(path, chain.clone());
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(path: &str, blocks: &[&str], calls: &[&str]) -> FnNode {
        let span = SourceFile::new("a.rs", "x").span_of_bytes(0, 1);
        let site = |callee: &&str| CallSite {
            callee: callee.to_string(),
            span,
            async_context: None,
        };
        FnNode {
            path: path.to_string(),
            is_async: false,
            blocks: blocks.iter().map(site).collect(),
            calls: calls.iter().map(site).collect(),
        }
    }

    #[test]
    fn a_chain_follows_plain_fns_to_the_blocking_call_and_survives_cycles() {
        let nodes = [
            node("shop::a", &[], &["shop::b"]),
            node("shop::b", &[], &["shop::c", "shop::a"]),
            node("shop::c", &["std::thread::sleep"], &[]),
            node("shop::loop_a", &[], &["shop::loop_b"]),
            node("shop::loop_b", &[], &["shop::loop_a"]),
        ];
        let mut chains = BlockingChains::new(&nodes);
        assert_eq!(
            chains.chain("shop::a"),
            Some(vec![
                "a".into(),
                "b".into(),
                "c".into(),
                "std::thread::sleep".into()
            ])
        );
        assert_eq!(chains.chain("shop::loop_a"), None);
        assert_eq!(chains.chain("shop::unknown"), None);
    }

    #[test]
    fn a_fn_blocks_only_when_every_definition_does() {
        let nodes = [
            node("shop::wait", &["std::thread::sleep"], &[]),
            node("shop::wait", &[], &[]),
        ];
        assert_eq!(BlockingChains::new(&nodes).chain("shop::wait"), None);
    }
}
