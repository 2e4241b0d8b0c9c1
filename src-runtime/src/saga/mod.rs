//! Sagas: ordered steps with compensation, persisted through a [`SagaStore`].
