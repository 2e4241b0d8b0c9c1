//! [`PublishError`]: every failure of one publish, carried as the source of the [`Error`] that
//! [`Mediator::publish`](crate::Mediator::publish) returns.

use std::fmt;

use crate::{Error, ErrorKind};

/// One event handler's failure.
#[derive(Debug, Clone)]
pub struct HandlerFailure {
    /// The handler's type name.
    pub handler: &'static str,
    /// What it returned (or the internal error its panic became).
    pub error: Error,
}

/// The failures of the event handlers of one publish; the handlers not listed succeeded.
///
/// ```
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Event)]
/// struct Tick;
///
/// struct Fails;
/// impl EventHandler<Tick> for Fails {
///     async fn handle(&self, _: &Tick, _: &Context) -> catga::Result<()> {
///         Err(catga::Error::unavailable("mail server down"))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mediator = Mediator::builder().event_handler(Fails).build()?;
/// let err = mediator.publish(Tick).await.unwrap_err();
/// let failures = PublishError::of(&err).expect("publish errors carry a PublishError");
/// assert_eq!(failures.failures().len(), 1);
/// # Ok::<(), catga::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct PublishError {
    event: &'static str,
    failures: Vec<HandlerFailure>,
}

impl PublishError {
    pub(crate) fn new(event: &'static str, failures: Vec<HandlerFailure>) -> Self {
        PublishError { event, failures }
    }

    /// The [`PublishError`] behind an error returned by `publish`, if it is one.
    pub fn of(error: &Error) -> Option<&PublishError> {
        std::error::Error::source(error)?.downcast_ref()
    }

    /// The event type's name.
    pub fn event(&self) -> &'static str {
        self.event
    }

    /// Each failed handler with its error, in registration order.
    pub fn failures(&self) -> &[HandlerFailure] {
        &self.failures
    }

    /// The kind shared by every failure, or [`ErrorKind::Internal`] when they differ.
    fn kind(&self) -> ErrorKind {
        let mut kinds = self.failures.iter().map(|f| f.error.kind());
        let first = kinds.next().unwrap_or(ErrorKind::Internal);
        if kinds.all(|kind| kind == first) {
            first
        } else {
            ErrorKind::Internal
        }
    }
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of the handlers of `{}` failed: ",
            self.failures.len(),
            self.event
        )?;
        for (i, failure) in self.failures.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            write!(f, "{sep}`{}`: {}", failure.handler, failure.error)?;
        }
        Ok(())
    }
}

impl std::error::Error for PublishError {}

impl From<PublishError> for Error {
    fn from(publish: PublishError) -> Self {
        Error::new(publish.kind(), publish.to_string()).with_source(publish)
    }
}
