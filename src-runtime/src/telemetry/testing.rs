//! Spans as a test sees them (feature `testing`): a `tracing` layer that records every span's
//! name, parent and fields, so a test can check that a consumer's span is the child of its
//! producer's, across a transport.
//!
//! ```
//! let (spans, _guard) = catga::telemetry::testing::Spans::install();
//! tracing::info_span!("catga.publish", messaging.system = "memory").in_scope(|| {});
//! assert_eq!(spans.one("catga.publish").field("messaging.system"), "memory");
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, subscriber::DefaultGuard};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::{LookupSpan, Registry};

/// One span as recorded.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The span's id in the recording subscriber.
    pub id: u64,
    /// The span's name (`catga.publish`, ...).
    pub name: &'static str,
    /// The id of its parent: given explicitly, or the span current where it was created.
    pub parent: Option<u64>,
    /// Its fields, as text (`Debug` for values that are not strings).
    pub fields: HashMap<String, String>,
}

impl Recorded {
    /// The field `name`, or a panic naming the span.
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .unwrap_or_else(|| panic!("span {} has no field `{name}`: {:?}", self.name, self))
    }
}

/// The spans recorded so far; clones share them.
#[derive(Debug, Clone, Default)]
pub struct Spans(Arc<Mutex<Vec<Recorded>>>);

impl Spans {
    /// A recorder installed as this thread's default subscriber until the guard drops.
    pub fn install() -> (Spans, DefaultGuard) {
        let spans = Spans::default();
        let guard = tracing::subscriber::set_default(Registry::default().with(spans.clone()));
        (spans, guard)
    }

    /// Every span named `name`, in creation order.
    pub fn named(&self, name: &str) -> Vec<Recorded> {
        let all = self.0.lock().expect("not poisoned");
        all.iter().filter(|s| s.name == name).cloned().collect()
    }

    /// The one span named `name`.
    pub fn one(&self, name: &str) -> Recorded {
        let mut named = self.named(name);
        assert_eq!(named.len(), 1, "spans named {name}: {named:?}");
        named.remove(0)
    }
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = if let Some(parent) = attrs.parent() {
            Some(parent.into_u64())
        } else if attrs.is_contextual() {
            ctx.current_span().id().map(Id::into_u64)
        } else {
            None
        };
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().expect("not poisoned").push(Recorded {
            id: id.into_u64(),
            name: attrs.metadata().name(),
            parent,
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut all = self.0.lock().expect("not poisoned");
        if let Some(span) = all.iter_mut().rev().find(|s| s.id == id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
}
