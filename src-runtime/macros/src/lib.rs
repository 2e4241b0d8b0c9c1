//! Derive and attribute macros for catga: `Command`, `Query`, `Event`, `#[catga::handler]`.
//!
//! Use them through the `catga` crate (`catga::prelude::*` or `catga::Command`), never
//! directly: the generated code names items of `::catga`.

mod handler_attr;
mod message_derive;

use proc_macro::TokenStream;

/// Implements `catga::Message`, `catga::Request` and `catga::Command` for a struct or enum.
///
/// `#[command(response = T)]` sets the response type (default `()`); `#[command(idempotent)]`
/// makes the command idempotent, keyed by the one field marked `#[idempotency_key]`.
#[proc_macro_derive(Command, attributes(command, idempotency_key))]
pub fn derive_command(input: TokenStream) -> TokenStream {
    message_derive::expand(input.into(), message_derive::Kind::Command).into()
}

/// Implements `catga::Message`, `catga::Request` and `catga::Query`; `#[query(response = T)]`
/// is required.
#[proc_macro_derive(Query, attributes(query))]
pub fn derive_query(input: TokenStream) -> TokenStream {
    message_derive::expand(input.into(), message_derive::Kind::Query).into()
}

/// Implements `catga::Message` and `catga::Event`.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    message_derive::expand(input.into(), message_derive::Kind::Event).into()
}

/// Registers a `Handler` or `EventHandler` impl for `Mediator::builder().auto_register()`.
///
/// Put it on the impl block; the handler type must implement `Default`.
///
/// `#[catga::handler(timeout = <Duration expr>)]` on a `Handler<R>` impl also registers
/// `Timeout::after(expr)` for messages of type `R` only. Event handlers take no timeout (a
/// behavior applies to every handler of its event type): use `.behavior_for::<E>(..)`.
#[proc_macro_attribute]
pub fn handler(args: TokenStream, item: TokenStream) -> TokenStream {
    handler_attr::expand(args.into(), item.into()).into()
}
