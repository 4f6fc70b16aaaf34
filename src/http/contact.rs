//! `/v1/contact`: the public contact form (strictly rate limited).

use actix_web::{web, HttpRequest, HttpResponse};
use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Deserialize;

use super::{created, Checks};
use crate::domain::{email::Email, text};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ContactDoc;

const SUBJECTS: [&str; 8] = [
    "general",
    "support",
    "feature",
    "bug",
    "expense-help",
    "account",
    "partnership",
    "other",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactBody {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    subject: Option<String>,
    message: Option<String>,
}

pub async fn submit(
    req: HttpRequest,
    body: web::Json<ContactBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let client_ip = &state.client_ip;
    let body = body.into_inner();
    let mut c = Checks::default();
    let field = |c: &mut Checks, name: &str, value: Option<String>, label: &str, max: usize| {
        let v = value.unwrap_or_default();
        c.check(name, text::bounded(&v, label, 1, max))
    };
    let first = field(&mut c, "firstName", body.first_name, "First name", 50);
    let last = field(&mut c, "lastName", body.last_name, "Last name", 50);
    let message = field(&mut c, "message", body.message, "Message", 2000);
    let email = c
        .required("email", body.email, "Email is required")
        .and_then(|e| c.check("email", Email::parse(&e)));
    let subject = match body.subject.as_deref().map(str::trim) {
        Some(s) if SUBJECTS.contains(&s) => Some(s.to_string()),
        _ => c.check(
            "subject",
            Err(format!("Subject must be one of: {}", SUBJECTS.join(", "))),
        ),
    };
    let ((((first_name, last_name), message), email), subject) =
        c.finish(first.zip(last).zip(message).zip(email).zip(subject))?;
    let ip = client_ip.of_request(&req);
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect());
    let contact = ContactDoc {
        id: ObjectId::new(),
        first_name,
        last_name,
        email: email.into_string(),
        subject,
        message,
        ip_address: Some(ip.to_string()),
        user_agent,
        status: "new".into(),
        created_at: DateTime::now(),
    };
    store.insert_contact(&contact).await?;
    Ok(created(
        "Thank you for contacting us. We will get back to you soon.",
        serde_json::json!({ "_id": contact.id.to_hex() }),
    ))
}
