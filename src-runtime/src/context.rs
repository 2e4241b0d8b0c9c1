//! The per-message context handed to every handler, behavior and saga step.

use std::time::Instant;

/// Identifies one message. Ids are unique within a process run and random across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u128);

/// What a handler knows about the message it is handling: its id, the conversation it belongs
/// to, and how long it may take.
#[derive(Debug, Clone)]
pub struct Context {
    message_id: MessageId,
    correlation_id: MessageId,
    causation_id: Option<MessageId>,
    deadline: Option<Instant>,
}

impl Context {
    /// A context for a message that starts a new conversation.
    pub fn new(message_id: MessageId) -> Self {
        Context { message_id, correlation_id: message_id, causation_id: None, deadline: None }
    }

    /// This message's id.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// The id shared by every message in one conversation.
    pub fn correlation_id(&self) -> MessageId {
        self.correlation_id
    }

    /// The id of the message whose handling caused this one, if any.
    pub fn causation_id(&self) -> Option<MessageId> {
        self.causation_id
    }

    /// When the caller stops waiting, if it set a deadline.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}
