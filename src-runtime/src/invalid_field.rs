//! Validation errors that name the field at fault, so that an edge that shows errors to people
//! (an HTTP API's 422 body) can point at it.

use std::borrow::Cow;
use std::fmt;

use crate::Error;

/// Which field of a message is invalid, and why: the source of an error made by
/// [`Error::invalid_field`].
///
/// ```
/// use catga::{Error, ErrorKind, InvalidField};
///
/// let error = Error::invalid_field("amount_cents", "must be greater than zero");
/// assert_eq!(error.kind(), ErrorKind::Validation);
/// assert_eq!(error.message(), "amount_cents: must be greater than zero");
/// let invalid = InvalidField::of(&error).expect("names its field");
/// assert_eq!(invalid.field(), "amount_cents");
/// assert_eq!(invalid.reason(), "must be greater than zero");
/// assert!(InvalidField::of(&Error::validation("no field")).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    field: Cow<'static, str>,
    reason: Cow<'static, str>,
}

impl InvalidField {
    /// The field's name as the message type spells it (`amount_cents`, or a path such as
    /// `lines/0/sku` for a nested one: JSON pointer segments without the leading `/`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Why the field's value is refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The field `error` names, when it was made by [`Error::invalid_field`].
    pub fn of(error: &Error) -> Option<&InvalidField> {
        std::error::Error::source(error)?.downcast_ref::<InvalidField>()
    }
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidField {}

impl Error {
    /// An [`ErrorKind::Validation`](crate::ErrorKind::Validation) error that names the invalid
    /// field (read it back with [`InvalidField::of`]); its message is `"<field>: <reason>"`.
    pub fn invalid_field(
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Error {
        let invalid = InvalidField {
            field: field.into(),
            reason: reason.into(),
        };
        Error::validation(invalid.to_string()).with_source(invalid)
    }
}
