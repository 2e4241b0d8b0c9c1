//! Idempotent commands: deduplicated by key through an [`IdempotencyStore`].
