//! Catga's spans as OpenTelemetry spans, exported over OTLP/HTTP (protobuf).
//!
//! [`Otlp::from_env`] builds the exporter from the standard environment variables
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_*`,
//! all read by the OpenTelemetry SDK itself), and installs [`OtelBridge`], so the trace context
//! catga puts in envelopes is OpenTelemetry's: a consumer's `catga.process` span is exported as
//! the child of the producer's span, in another service.

use catga::telemetry::{TraceBridge, TraceContext};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::registry::LookupSpan;

/// The environment variables that turn OTLP export on: the endpoint for every signal, or the
/// one for traces.
pub const ENDPOINT_ENVS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Whether an OTLP endpoint is configured ([`ENDPOINT_ENVS`]): a service exports traces only
/// then.
pub fn is_configured() -> bool {
    ENDPOINT_ENVS
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

/// Reads and sets trace contexts through `tracing-opentelemetry`: catga's messaging spans get
/// OpenTelemetry's ids, and a consumer's span gets the producer's as its remote parent.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtelBridge;

impl TraceBridge for OtelBridge {
    fn context_of(&self, span: &tracing::Span) -> Option<TraceContext> {
        if span.is_disabled() {
            return None;
        }
        let context = span.context();
        let span_ref = context.span();
        let span_context = span_ref.span_context();
        if !span_context.is_valid() {
            return None;
        }
        let state = span_context.trace_state().header();
        Some(TraceContext {
            trace_id: u128::from_be_bytes(span_context.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(span_context.span_id().to_bytes()),
            flags: span_context.trace_flags().to_u8(),
            state: (!state.is_empty()).then_some(state),
        })
    }

    fn set_parent(&self, span: &tracing::Span, parent: &TraceContext) {
        let state = parent
            .state
            .as_deref()
            .and_then(|state| state.parse::<TraceState>().ok())
            .unwrap_or_default();
        let remote = SpanContext::new(
            TraceId::from_bytes(parent.trace_id.to_be_bytes()),
            SpanId::from_bytes(parent.span_id.to_be_bytes()),
            TraceFlags::new(parent.flags),
            true,
            state,
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
}

/// Installs [`OtelBridge`] as the process' trace bridge; `false` when one was installed
/// before (the first stays).
pub fn install_bridge() -> bool {
    catga::telemetry::set_bridge(Box::new(OtelBridge)).is_ok()
}

/// An OTLP/HTTP span exporter and the tracer provider that batches spans into it. Add
/// [`layer`](Otlp::layer) to the service's `tracing` subscriber, and call
/// [`shutdown`](Otlp::shutdown) before exiting, which sends the spans still in the batch.
#[derive(Debug)]
pub struct Otlp {
    provider: SdkTracerProvider,
}

impl Otlp {
    /// The exporter configured by the `OTEL_*` environment variables; `service_name` names the
    /// service unless `OTEL_SERVICE_NAME` does. Installs [`OtelBridge`].
    pub fn from_env(service_name: &str) -> catga::Result<Otlp> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(exporter_error)?;
        Ok(Otlp::with_exporter(exporter, service_name))
    }

    /// An exporter sending to `traces_url` (the whole URL, `http://host:4318/v1/traces`), the
    /// other settings from the environment. Installs [`OtelBridge`].
    pub fn to_url(traces_url: &str, service_name: &str) -> catga::Result<Otlp> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(traces_url)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_headers(Default::default())
            .build()
            .map_err(exporter_error)?;
        Ok(Otlp::with_exporter(exporter, service_name))
    }

    fn with_exporter(exporter: opentelemetry_otlp::SpanExporter, service_name: &str) -> Otlp {
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name(service_name.to_string());
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        install_bridge();
        Otlp { provider }
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans for this exporter.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("catga"))
    }

    /// Sends the spans still batched and stops the exporter. Blocks until they are sent (or
    /// the export timeout passes): call it from a blocking context, not from an async task.
    pub fn shutdown(self) -> catga::Result<()> {
        self.provider.shutdown().map_err(|error| {
            catga::Error::unavailable(format!("cannot flush the OTLP exporter: {error}"))
        })
    }
}

fn exporter_error(error: impl std::fmt::Display) -> catga::Error {
    catga::Error::new(
        catga::ErrorKind::Configuration,
        format!("cannot build the OTLP exporter: {error}"),
    )
}
