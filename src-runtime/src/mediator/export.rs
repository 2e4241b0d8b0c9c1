//! The event types a mediator exports to other services: how to turn each into an outbox
//! entry.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::message::Event;
use crate::transport::{Envelope, OutboxEntry, event_subject};
use crate::{Context, Error, Result};

type ToEntry = Arc<dyn Fn(&dyn Any, &Context) -> Result<OutboxEntry> + Send + Sync>;

/// Exported event types and their outbox entries.
#[derive(Clone, Default)]
pub(crate) struct Exports {
    by_type: HashMap<TypeId, (&'static str, ToEntry)>,
}

impl Exports {
    pub(crate) fn insert<E, K>(&mut self, key: K)
    where
        E: Event + Serialize,
        K: Fn(&E) -> Option<String> + Send + Sync + 'static,
    {
        let to_entry: ToEntry = Arc::new(move |event: &dyn Any, ctx: &Context| {
            let event = event.downcast_ref::<E>().ok_or_else(|| {
                Error::internal(format!("an export of `{}` got another type", E::NAME))
            })?;
            let mut envelope = Envelope::of(event, ctx)?;
            envelope.key = key(event);
            Ok(OutboxEntry {
                subject: event_subject(E::NAME),
                envelope,
            })
        });
        self.by_type.insert(TypeId::of::<E>(), (E::NAME, to_entry));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }

    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.by_type.values().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names
    }

    /// The outbox entry for `event` published in `ctx`, when `E` is exported.
    pub(crate) fn entry<E: Event>(&self, event: &E, ctx: &Context) -> Option<Result<OutboxEntry>> {
        let (_, to_entry) = self.by_type.get(&TypeId::of::<E>())?;
        Some(to_entry(event, ctx))
    }
}
