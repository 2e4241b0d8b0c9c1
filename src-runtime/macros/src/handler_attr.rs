//! `#[catga::handler]`: keeps the handler impl as written and submits a registration function
//! to the `inventory` collection that `MediatorBuilder::auto_register` walks.
//!
//! `#[catga::handler(timeout = <Duration expr>)]` on a request handler also registers a
//! `Timeout::after(expr)` behavior for that request type only.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, ItemImpl, Meta, PathArguments, Token, Type};

/// What the attribute's arguments said.
#[derive(Default)]
struct HandlerArgs {
    /// `timeout = <expr>`: a `std::time::Duration` expression.
    timeout: Option<Expr>,
}

/// Parse `timeout = <expr>`; anything else is an error naming the accepted arguments.
fn parse_args(args: TokenStream) -> syn::Result<HandlerArgs> {
    let mut parsed = HandlerArgs::default();
    if args.is_empty() {
        return Ok(parsed);
    }
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated
        .parse2(args)
        .map_err(|err| {
            syn::Error::new(
                err.span(),
                "expected `#[catga::handler]` or `#[catga::handler(timeout = <Duration>)]`",
            )
        })?;
    for meta in metas {
        match meta {
            Meta::NameValue(name_value) if name_value.path.is_ident("timeout") => {
                if parsed.timeout.is_some() {
                    return Err(syn::Error::new(
                        name_value.path.span(),
                        "`timeout` is given twice; keep one",
                    ));
                }
                parsed.timeout = Some(name_value.value);
            }
            other => {
                let name = other
                    .path()
                    .get_ident()
                    .map_or_else(|| "this".to_string(), |ident| format!("`{ident}`"));
                return Err(syn::Error::new(
                    other.span(),
                    format!(
                        "unknown argument {name} to `#[catga::handler]`; the one argument is \
                         `timeout = <Duration>`, e.g. `#[catga::handler(timeout = Duration::from_secs(5))]`"
                    ),
                ));
            }
        }
    }
    Ok(parsed)
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match generate(args, item.clone()) {
        Ok(tokens) => tokens,
        // Keep the impl so that one mistake does not cascade into "trait not implemented" errors.
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#item #err)
        }
    }
}

fn generate(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_args(args)?;
    let item_impl: ItemImpl = syn::parse2(item).map_err(|err| {
        syn::Error::new(
            err.span(),
            "`#[catga::handler]` goes on an `impl Handler<Request> for Type` or `impl EventHandler<Event> for Type` block",
        )
    })?;
    let Some((_, trait_path, _)) = &item_impl.trait_ else {
        return Err(syn::Error::new(
            item_impl.self_ty.span(),
            "`#[catga::handler]` goes on an `impl Handler<Request> for Type` or `impl EventHandler<Event> for Type` block, not an inherent impl",
        ));
    };
    if !item_impl.generics.params.is_empty() {
        return Err(syn::Error::new(
            item_impl.generics.span(),
            "`#[catga::handler]` cannot register a generic impl: register each instantiation with `Mediator::builder().handler(..)`",
        ));
    }
    let last = trait_path
        .segments
        .last()
        .expect("a trait path has at least one segment");
    let is_request_handler = match last.ident.to_string().as_str() {
        "Handler" => true,
        "EventHandler" => false,
        _ => {
            return Err(syn::Error::new(
                last.ident.span(),
                "`#[catga::handler]` only registers `Handler<Request>` and `EventHandler<Event>` impls, \
                 and reads the trait's name as written: name it `Handler` or `EventHandler` \
                 (not an alias from `use .. as ..`)",
            ));
        }
    };
    let message = message_type(&last.arguments).ok_or_else(|| {
        syn::Error::new(
            last.span(),
            "expected the message type as the one generic argument, e.g. `Handler<CreateOrder>`",
        )
    })?;
    let handler_ty = &item_impl.self_ty;
    let handler_name = quote!(#handler_ty).to_string().replace(' ', "");
    let register_call = if is_request_handler {
        quote!(builder.handler::<#message, #handler_ty>(handler))
    } else {
        quote!(builder.event_handler::<#message, #handler_ty>(handler))
    };
    let (timeout_fn, register_call) = match &args.timeout {
        None => (quote!(), register_call),
        Some(timeout) if !is_request_handler => {
            return Err(syn::Error::new(
                timeout.span(),
                "`timeout` applies to request handlers (`Handler<R>`) only: behaviors are per \
                 message type, so a timeout here would also bound every other handler of this \
                 event; add `.behavior_for::<Event>(Timeout::after(..))` to the builder instead",
            ));
        }
        // The expression gets a fn of its own, so it sees the module's items and none of the
        // generated locals.
        Some(timeout) => (
            quote_spanned! {timeout.span()=>
                fn __catga_timeout() -> ::core::time::Duration {
                    #timeout
                }
            },
            quote! {
                #register_call.behavior_for::<#message, ::catga::behavior::Timeout>(
                    ::catga::behavior::Timeout::after(__catga_timeout()),
                )
            },
        ),
    };
    let construct = quote_spanned! {handler_ty.span()=>
        <#handler_ty as ::core::default::Default>::default()
    };

    Ok(quote! {
        #item_impl

        const _: () = {
            #timeout_fn
            fn __catga_register(builder: ::catga::MediatorBuilder) -> ::catga::MediatorBuilder {
                let handler = #construct;
                #register_call
            }
            ::catga::__private::inventory::submit! {
                ::catga::__private::AutoRegistration::new(#handler_name, __catga_register)
            }
        };
    })
}

fn message_type(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(args: TokenStream, item: TokenStream) -> String {
        match generate(args, item) {
            Ok(_) => String::from("<expanded>"),
            Err(err) => err.to_string(),
        }
    }

    fn request_impl() -> TokenStream {
        quote!(impl Handler<Ping> for PingHandler {})
    }

    #[test]
    fn timeout_argument_registers_a_timeout_behavior_for_the_request_type() {
        let tokens = generate(quote!(timeout = Duration::from_secs(5) * 2), request_impl())
            .map(|tokens| tokens.to_string())
            .unwrap_or_default();
        assert!(tokens.contains("fn __catga_timeout"), "{tokens}");
        assert!(tokens.contains("behavior_for :: < Ping"), "{tokens}");
        assert!(
            tokens.contains("Timeout :: after (__catga_timeout ())"),
            "{tokens}"
        );
    }

    #[test]
    fn unknown_arguments_are_named_in_the_error() {
        let message = error_of(quote!(retries = 3), request_impl());
        assert!(message.contains("unknown argument `retries`"), "{message}");
        let message = error_of(quote!(timeout), request_impl());
        assert!(message.contains("unknown argument `timeout`"), "{message}");
        let message = error_of(quote!(timeout = 1, timeout = 2), request_impl());
        assert!(message.contains("given twice"), "{message}");
        let message = error_of(quote!(5), request_impl());
        assert!(
            message.contains("expected `#[catga::handler]`"),
            "{message}"
        );
    }

    #[test]
    fn timeout_on_an_event_handler_is_refused() {
        let message = error_of(
            quote!(timeout = Duration::from_secs(1)),
            quote!(impl EventHandler<Pinged> for Audit {}),
        );
        assert!(message.contains("request handlers"), "{message}");
    }

    #[test]
    fn no_arguments_still_expand() {
        assert!(generate(TokenStream::new(), request_impl()).is_ok());
    }
}
