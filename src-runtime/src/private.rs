//! Items the macros expand to; not public API.
//!
//! The probes pick, at the concrete message type a derive expands for, whether the type
//! implements [`Validate`] / [`Idempotent`] (method resolution tries `Probe<T>` before
//! `&Probe<T>`, and skips an impl whose bounds do not hold).

use std::marker::PhantomData;

pub use inventory;

use crate::Result;
pub use crate::mediator::AutoRegistration;
use crate::message::{IdempotencyHooks, Idempotent, Message, Request, Validate};

/// Zero-sized stand-in for a message type during method resolution.
#[derive(Debug)]
pub struct Probe<T>(PhantomData<T>);

impl<T> Probe<T> {
    /// The probe for `T`.
    pub fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<T> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen when the message implements [`Validate`].
pub trait RunsValidate<T> {
    /// Runs `T::validate`.
    fn validate_message(&self, message: &T) -> Result<()>;
}

impl<T: Validate> RunsValidate<T> for Probe<T> {
    fn validate_message(&self, message: &T) -> Result<()> {
        message.validate()
    }
}

/// Chosen when the message does not implement [`Validate`].
pub trait SkipsValidate<T> {
    /// Accepts the message.
    fn validate_message(&self, _message: &T) -> Result<()> {
        Ok(())
    }
}

impl<T: Message> SkipsValidate<T> for &Probe<T> {}

/// Chosen when the request implements [`Idempotent`].
pub trait IsIdempotent<R: Request> {
    /// `Some(hooks)`.
    fn idempotency_hooks(&self) -> Option<IdempotencyHooks<R>>;
}

impl<R: Idempotent> IsIdempotent<R> for Probe<R> {
    fn idempotency_hooks(&self) -> Option<IdempotencyHooks<R>> {
        Some(IdempotencyHooks::of())
    }
}

/// Chosen when the request does not implement [`Idempotent`].
pub trait NotIdempotent<R: Request> {
    /// `None`.
    fn idempotency_hooks(&self) -> Option<IdempotencyHooks<R>> {
        None
    }
}

impl<R: Request> NotIdempotent<R> for &Probe<R> {}
