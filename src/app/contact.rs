//! The public contact form: a message to the team, stored for follow-up.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Serialize;

use crate::domain::email::Email;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ContactDoc;

/// The subjects a message may have.
pub const SUBJECTS: [&str; 8] = [
    "general",
    "support",
    "feature",
    "bug",
    "expense-help",
    "account",
    "partnership",
    "other",
];

/// A message, parsed: names and message bounded, the subject one of
/// [`SUBJECTS`].
pub struct Message {
    pub first_name: String,
    pub last_name: String,
    pub email: Email,
    pub subject: String,
    pub message: String,
}

/// Where a message came from, as the request tells it.
pub struct Sender {
    pub ip_address: String,
    /// At most 512 characters.
    pub user_agent: Option<String>,
}

/// The stored message's id: `{"_id": ...}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Received {
    #[serde(rename = "_id")]
    #[schema(value_type = crate::app::schema::Id)]
    id: String,
}

pub async fn submit(app: &AppState, message: Message, from: Sender) -> Result<Received, ApiError> {
    let store = &app.store;
    let contact = ContactDoc {
        id: ObjectId::new(),
        first_name: message.first_name,
        last_name: message.last_name,
        email: message.email.into_string(),
        subject: message.subject,
        message: message.message,
        ip_address: Some(from.ip_address),
        user_agent: from.user_agent,
        status: "new".into(),
        created_at: DateTime::now(),
    };
    store.insert_contact(&contact).await?;
    Ok(Received {
        id: contact.id.to_hex(),
    })
}
