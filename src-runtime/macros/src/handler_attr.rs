//! `#[catga::handler]`: keeps the handler impl as written and submits a registration function
//! to the `inventory` collection that `MediatorBuilder::auto_register` walks.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericArgument, ItemImpl, PathArguments, Type};

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
    if !args.is_empty() {
        return Err(syn::Error::new(
            args.span(),
            "`#[catga::handler]` takes no arguments",
        ));
    }
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
                "`#[catga::handler]` only registers `Handler<Request>` and `EventHandler<Event>` impls",
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
    let construct = quote_spanned! {handler_ty.span()=>
        <#handler_ty as ::core::default::Default>::default()
    };

    Ok(quote! {
        #item_impl

        const _: () = {
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
