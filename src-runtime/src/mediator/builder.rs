//! [`MediatorBuilder`]: collects handlers, behaviors and the idempotency store, and checks the
//! configuration once, in [`build`](MediatorBuilder::build).

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::entry::{AnyEntry, EventEntry, RequestEntry};
use super::export::Exports;
use super::type_map::TypeMap;
use super::{Inner, Mediator, MediatorId, next_mediator_id, register_live};
use crate::handler::{ErasedHandler, EventHandler, Handler};
use crate::idempotency::{IdempotencyBehavior, IdempotencyStore, MemoryIdempotencyStore};
use crate::message::{Event, Message, Request};
use crate::pipeline::{Behavior, DynBehavior};
use crate::transport::Outbox;
use crate::transport::capture::OutboxBehavior;
use crate::{Error, ErrorKind, Result};
use serde::Serialize;

/// How long an idempotency claim stays valid when its holder neither completes nor releases it
/// (for example because the process died).
pub const DEFAULT_IDEMPOTENCY_LEASE: Duration = Duration::from_secs(30);

/// Configures a [`Mediator`]; made by [`Mediator::builder`].
///
/// Mistakes (two handlers for one request type, a behavior for a type nothing handles) are
/// collected and reported together by [`build`](MediatorBuilder::build).
pub struct MediatorBuilder {
    /// The id the built mediator will have; handlers know it so they can build contexts.
    id: MediatorId,
    requests: TypeMap<AnyEntry>,
    events: TypeMap<AnyEntry>,
    global: Vec<Arc<dyn DynBehavior>>,
    scoped: Vec<(TypeId, &'static str, Arc<dyn DynBehavior>)>,
    store: Option<Arc<dyn IdempotencyStore>>,
    lease: Duration,
    outbox: Option<Arc<dyn Outbox>>,
    exports: Exports,
    problems: Vec<String>,
}

impl MediatorBuilder {
    pub(crate) fn new() -> Self {
        MediatorBuilder {
            id: next_mediator_id(),
            requests: TypeMap::default(),
            events: TypeMap::default(),
            global: Vec::new(),
            scoped: Vec::new(),
            store: None,
            lease: DEFAULT_IDEMPOTENCY_LEASE,
            outbox: None,
            exports: Exports::default(),
            problems: Vec::new(),
        }
    }

    /// Registers the handler of request type `R`. A second handler for the same `R` makes
    /// [`build`](MediatorBuilder::build) fail.
    pub fn handler<R, H>(mut self, handler: H) -> Self
    where
        R: Request,
        H: Handler<R>,
    {
        let handler_name = std::any::type_name::<H>();
        let key = TypeId::of::<R>();
        if let Some(existing) = self.requests.get(&key) {
            let existing = existing
                .downcast_ref::<RequestEntry<R>>()
                .map_or("?", |e| e.handler_name);
            self.problems.push(format!(
                "two handlers are registered for `{}`: `{existing}` and `{handler_name}`; a request \
                 type has exactly one handler, so remove one registration (look for \
                 `#[catga::handler]` on one and `.handler(..)` for the other)",
                R::NAME
            ));
            return self;
        }
        let entry =
            RequestEntry::<R>::new(Box::new(ErasedHandler::new(handler, self.id)), handler_name);
        self.requests.insert(key, AnyEntry::new(entry));
        self
    }

    /// Adds an event handler for event type `E`; any number may be registered.
    pub fn event_handler<E, H>(mut self, handler: H) -> Self
    where
        E: Event,
        H: EventHandler<E>,
    {
        let entry = self
            .events
            .entry(TypeId::of::<E>())
            .or_insert_with(|| AnyEntry::new(EventEntry::<E>::new()));
        if let Some(entry) = entry.downcast_mut::<EventEntry<E>>() {
            entry.push(Box::new(ErasedHandler::new(handler, self.id)));
        }
        self
    }

    /// Adds a behavior that wraps every message. Behaviors run in registration order, the
    /// first outermost; global behaviors run outside per-type ones.
    pub fn behavior<B: Behavior>(mut self, behavior: B) -> Self {
        self.global.push(Arc::new(behavior));
        self
    }

    /// Adds a behavior that wraps only messages of type `M`.
    pub fn behavior_for<M: Message, B: Behavior>(mut self, behavior: B) -> Self {
        self.scoped
            .push((TypeId::of::<M>(), M::NAME, Arc::new(behavior)));
        self
    }

    /// Registers every handler marked `#[catga::handler]` in the program.
    pub fn auto_register(self) -> Self {
        inventory::iter::<AutoRegistration>
            .into_iter()
            .fold(self, |builder, registration| {
                (registration.register)(builder)
            })
    }

    /// Stores idempotency records in `store` instead of in memory (use
    /// `catga_sqlite::SqliteIdempotencyStore` to deduplicate across restarts).
    pub fn idempotency_store(mut self, store: impl IdempotencyStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Sends exported events to other services through `outbox` (see
    /// [`export`](MediatorBuilder::export)): an event published while a message is handled is
    /// stored when the handling succeeds, in the idempotency record's transaction when the
    /// idempotency store can write to the outbox
    /// ([`IdempotencyStore::complete_with_outbox`]), and dropped when it fails. The outbox's
    /// dispatcher (`catga_sqlite::OutboxDispatcher` for `catga_sqlite::SqliteOutbox`) delivers
    /// the stored events to the transport.
    pub fn outbox(mut self, outbox: impl Outbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    /// Sends events of type `E` to other services: each publish of an `E` (from a handler or
    /// not) also stores it in the outbox, for the transport. Local handlers of `E` still run.
    pub fn export<E: Event + Serialize>(self) -> Self {
        self.export_keyed::<E, _>(|_| None)
    }

    /// Like [`export`](MediatorBuilder::export), with an ordering key: the outbox delivers the
    /// events of one key (an order id, an account) in the order they were published.
    pub fn export_keyed<E, K>(mut self, key: K) -> Self
    where
        E: Event + Serialize,
        K: Fn(&E) -> Option<String> + Send + Sync + 'static,
    {
        self.exports.insert::<E, K>(key);
        self
    }

    /// How long an idempotency claim lasts when its holder vanishes (default
    /// [`DEFAULT_IDEMPOTENCY_LEASE`]); set it above your slowest idempotent handler.
    pub fn idempotency_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Checks the configuration and builds the mediator.
    ///
    /// Fails with [`ErrorKind::Configuration`] naming every problem found.
    pub fn build(mut self) -> Result<Mediator> {
        for (type_id, name, _) in &self.scoped {
            if !self.requests.contains_key(type_id) && !self.events.contains_key(type_id) {
                self.problems.push(format!(
                    "`.behavior_for::<{name}>(..)` applies to a message type with no handler; \
                     register its handler or remove the behavior"
                ));
            }
        }
        if !self.exports.is_empty() && self.outbox.is_none() {
            self.problems.push(format!(
                "`.export::<..>()` of {} needs `.outbox(..)`: where exported events wait for \
                 the transport",
                self.exports.names().join(", ")
            ));
        }
        if !self.problems.is_empty() {
            return Err(Error::new(
                ErrorKind::Configuration,
                self.problems.join("\n"),
            ));
        }
        let MediatorBuilder {
            id,
            mut requests,
            mut events,
            mut global,
            scoped,
            store,
            lease,
            outbox,
            exports,
            ..
        } = self;
        if let Some(outbox) = &outbox {
            global.insert(
                0,
                Arc::new(OutboxBehavior {
                    outbox: Arc::clone(outbox),
                }),
            );
        }
        for (type_id, entry) in requests.iter_mut().chain(events.iter_mut()) {
            let chain = global
                .iter()
                .cloned()
                .chain(
                    scoped
                        .iter()
                        .filter(|(t, ..)| t == type_id)
                        .map(|(.., b)| b.clone()),
                )
                .collect();
            entry.set_chain(chain);
        }
        let store = store.unwrap_or_else(|| Arc::new(MemoryIdempotencyStore::new()));
        let inner = Arc::new(Inner {
            id,
            requests,
            events,
            idempotency: IdempotencyBehavior::new(store, lease),
            outbox,
            exports,
        });
        register_live(&inner);
        Ok(Mediator { inner })
    }
}

impl fmt::Debug for MediatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediatorBuilder")
            .field("request_types", &self.requests.len())
            .field("event_types", &self.events.len())
            .field("global_behaviors", &self.global.len())
            .field("scoped_behaviors", &self.scoped.len())
            .finish_non_exhaustive()
    }
}

/// A handler registration submitted by `#[catga::handler]`; collected by
/// [`MediatorBuilder::auto_register`]. Not meant to be built by hand.
#[derive(Debug)]
pub struct AutoRegistration {
    handler: &'static str,
    register: fn(MediatorBuilder) -> MediatorBuilder,
}

impl AutoRegistration {
    /// A registration of `handler` (its name) that `register` adds to a builder.
    pub const fn new(
        handler: &'static str,
        register: fn(MediatorBuilder) -> MediatorBuilder,
    ) -> Self {
        AutoRegistration { handler, register }
    }

    /// The registered handler type's name.
    pub fn handler(&self) -> &'static str {
        self.handler
    }
}

inventory::collect!(AutoRegistration);
