//! The `Command`, `Query` and `Event` derives: parse the message attributes, check them, and
//! emit the trait impls.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Member, Type};

/// Which derive is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Command,
    Query,
    Event,
}

impl Kind {
    fn attr_name(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Query => "query",
            Kind::Event => "event",
        }
    }
}

/// What the `#[command(..)]` / `#[query(..)]` / `#[event]` attributes said.
#[derive(Default)]
struct MessageArgs {
    response: Option<Type>,
    /// The span of the `idempotent` flag, when present.
    idempotent: Option<Span>,
}

pub(crate) fn expand(input: TokenStream, kind: Kind) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(|input| generate(&input, kind)) {
        Ok(tokens) => tokens,
        Err(err) => err.to_compile_error(),
    }
}

fn generate(input: &DeriveInput, kind: Kind) -> syn::Result<TokenStream> {
    let args = parse_args(input, kind)?;
    let key = find_idempotency_key(input, &args)?;

    let ident = &input.ident;
    let name = ident.to_string();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let kind_variant = match kind {
        Kind::Command => quote!(Command),
        Kind::Query => quote!(Query),
        Kind::Event => quote!(Event),
    };

    let message_impl = quote! {
        impl #impl_generics ::catga::Message for #ident #ty_generics #where_clause {
            const NAME: &'static str = #name;
            const KIND: ::catga::MessageKind = ::catga::MessageKind::#kind_variant;

            fn validate_hook(&self) -> ::catga::Result<()> {
                #[allow(unused_imports)]
                use ::catga::__private::{RunsValidate as _, SkipsValidate as _};
                (&::catga::__private::Probe::<Self>::new()).validate_message(self)
            }
        }
    };

    let rest = match kind {
        Kind::Event => quote! {
            impl #impl_generics ::catga::Event for #ident #ty_generics #where_clause {}
        },
        Kind::Command | Kind::Query => {
            let response = args
                .response
                .clone()
                .map_or_else(|| quote!(()), |ty| quote!(#ty));
            let request_trait = if kind == Kind::Command {
                quote!(Command)
            } else {
                quote!(Query)
            };
            let idempotent_impl = key.map(|(member, span)| {
                quote_spanned! {span=>
                    impl #impl_generics ::catga::Idempotent for #ident #ty_generics #where_clause {
                        fn idempotency_key(&self) -> ::std::string::String {
                            ::std::string::ToString::to_string(&self.#member)
                        }
                    }
                }
            });
            quote! {
                impl #impl_generics ::catga::Request for #ident #ty_generics #where_clause {
                    type Response = #response;

                    fn idempotency() -> ::core::option::Option<::catga::IdempotencyHooks<Self>> {
                        #[allow(unused_imports)]
                        use ::catga::__private::{IsIdempotent as _, NotIdempotent as _};
                        (&::catga::__private::Probe::<Self>::new()).idempotency_hooks()
                    }
                }
                impl #impl_generics ::catga::#request_trait for #ident #ty_generics #where_clause {}
                #idempotent_impl
            }
        }
    };

    Ok(quote! {
        #message_impl
        #rest
    })
}

fn parse_args(input: &DeriveInput, kind: Kind) -> syn::Result<MessageArgs> {
    let mut args = MessageArgs::default();
    let mut seen_attr: Option<Span> = None;
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident(kind.attr_name()))
    {
        if seen_attr.is_some() {
            return Err(syn::Error::new(
                attr.span(),
                format!(
                    "duplicate `#[{}(..)]` attribute: put every option in one",
                    kind.attr_name()
                ),
            ));
        }
        seen_attr = Some(attr.span());
        if kind == Kind::Event {
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                return Err(syn::Error::new(
                    attr.span(),
                    "`#[event]` takes no options: an event has no response and is never idempotent",
                ));
            }
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("response") {
                if args.response.is_some() {
                    return Err(meta.error("`response` is given twice"));
                }
                args.response = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("idempotent") {
                if kind == Kind::Query {
                    return Err(meta.error(
                        "a query cannot be idempotent: queries do not change state, so repeating one is already safe",
                    ));
                }
                if args.idempotent.is_some() {
                    return Err(meta.error("`idempotent` is given twice"));
                }
                args.idempotent = Some(meta.path.span());
                Ok(())
            } else {
                let expected = if kind == Kind::Command {
                    "`response = Type` or `idempotent`"
                } else {
                    "`response = Type`"
                };
                Err(meta.error(format!(
                    "unknown `#[{}]` option; expected {expected}",
                    kind.attr_name()
                )))
            }
        })?;
    }
    if kind == Kind::Query && args.response.is_none() {
        return Err(syn::Error::new(
            seen_attr.unwrap_or_else(|| input.ident.span()),
            "a query needs a response type: add `#[query(response = YourResponse)]`",
        ));
    }
    Ok(args)
}

/// The field marked `#[idempotency_key]`, checked against the `idempotent` flag.
fn find_idempotency_key(
    input: &DeriveInput,
    args: &MessageArgs,
) -> syn::Result<Option<(Member, Span)>> {
    let fields: Vec<&syn::Field> = match &input.data {
        Data::Struct(data) => data.fields.iter().collect(),
        Data::Enum(data) => {
            for variant in &data.variants {
                for field in &variant.fields {
                    if let Some(attr) = key_attr(field) {
                        return Err(syn::Error::new(
                            attr.span(),
                            "`#[idempotency_key]` works on struct fields only; for an enum, implement `catga::Idempotent` by hand",
                        ));
                    }
                }
            }
            if let Some(span) = args.idempotent {
                return Err(syn::Error::new(
                    span,
                    "`#[command(idempotent)]` needs a struct with one `#[idempotency_key]` field; for an enum, drop `idempotent` and implement `catga::Idempotent` by hand",
                ));
            }
            return Ok(None);
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span(),
                "catga messages must be structs or enums, not unions",
            ));
        }
    };
    let mut key: Option<(Member, Span)> = None;
    for (index, field) in fields.iter().enumerate() {
        let Some(attr) = key_attr(field) else {
            continue;
        };
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            return Err(syn::Error::new(
                attr.span(),
                "`#[idempotency_key]` takes no arguments",
            ));
        }
        if args.idempotent.is_none() {
            return Err(syn::Error::new(
                attr.span(),
                "`#[idempotency_key]` has no effect unless the command is marked `#[command(idempotent)]`",
            ));
        }
        if key.is_some() {
            return Err(syn::Error::new(
                attr.span(),
                "only one field can be the `#[idempotency_key]`; to key on several fields, implement `catga::Idempotent` by hand",
            ));
        }
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(syn::Index {
                index: index as u32,
                span: field.span(),
            }),
        };
        key = Some((member, field.span()));
    }
    if let (Some(span), None) = (args.idempotent, &key) {
        return Err(syn::Error::new(
            span,
            "`#[command(idempotent)]` needs exactly one field marked `#[idempotency_key]`; mark the field that identifies the operation (or drop `idempotent` and implement `catga::Idempotent` by hand)",
        ));
    }
    Ok(key)
}

fn key_attr(field: &syn::Field) -> Option<&syn::Attribute> {
    field
        .attrs
        .iter()
        .find(|a| a.path().is_ident("idempotency_key"))
}
