//! The one error type every catga operation returns.
//!
//! Callers branch on [`ErrorKind`]; behaviors use [`Error::is_retryable`] to decide whether a
//! failure is worth another attempt. Errors are cheap to clone so that one handler result can be
//! handed to every caller waiting on the same idempotency key.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// `Result` with [`catga::Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarse enough to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The message failed validation; the handler did not run.
    Validation,
    /// Something the message refers to does not exist.
    NotFound,
    /// The operation conflicts with the current state (duplicate, version mismatch, ...).
    Conflict,
    /// The caller is not allowed to do this.
    Unauthorized,
    /// The deadline passed before the handler finished.
    Timeout,
    /// A dependency is unavailable right now (circuit open, rate limit, broker down); retryable.
    Unavailable,
    /// No handler is registered for the request type.
    NoHandler,
    /// The mediator was configured wrongly (for example two handlers for one request type).
    Configuration,
    /// Storing or loading state failed.
    Storage,
    /// A bug: a handler panicked or an invariant broke.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Validation,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Unauthorized,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::NoHandler,
        ErrorKind::Configuration,
        ErrorKind::Storage,
        ErrorKind::Internal,
    ];

    /// The kind whose [`as_str`](ErrorKind::as_str) is `name`, if any.
    ///
    /// ```
    /// use catga::ErrorKind;
    /// assert_eq!(ErrorKind::from_name("not_found"), Some(ErrorKind::NotFound));
    /// assert_eq!(ErrorKind::from_name("teapot"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// A short lowercase name, used in logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NoHandler => "no_handler",
            ErrorKind::Configuration => "configuration",
            ErrorKind::Storage => "storage",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A catga error: a kind, a message for people, and optionally the error that caused it.
///
/// One pointer wide, so that `Result<T, Error>` of a small `T` is returned in registers: the
/// success path of every send and handler call never touches the error's fields.
#[derive(Clone)]
pub struct Error {
    inner: Arc<ErrorInner>,
}

#[derive(Clone)]
struct ErrorInner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            inner: Arc::new(ErrorInner {
                kind,
                message: message.into(),
                source: None,
            }),
        }
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Arc::make_mut(&mut self.inner).source = Some(Arc::new(source));
        self
    }

    /// [`ErrorKind::Validation`].
    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    /// [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// [`ErrorKind::Unauthorized`].
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// [`ErrorKind::Timeout`].
    pub fn timeout(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// [`ErrorKind::Unavailable`].
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// [`ErrorKind::Storage`].
    pub fn storage(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Storage, message)
    }

    /// [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether trying again may succeed: timeouts and unavailable dependencies.
    pub fn is_retryable(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Timeout | ErrorKind::Unavailable)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(source) = &self.inner.source {
            s.field("source", source);
        }
        s.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.kind, self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::storage(format!("serialization: {e}")).with_source(e)
    }
}
