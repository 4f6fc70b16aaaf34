//! `/v1/contact`: the public contact form (strictly rate limited;
//! `crate::app::contact`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{created, Checks, Envelope};
use crate::app::contact::{self, Message, Received, Sender, SUBJECTS};
use crate::domain::email::Email;
use crate::domain::inputs::{FirstName, LastName, MessageText};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactBody {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 50)]
    first_name: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 50)]
    last_name: Option<String>,
    #[schema(required = true, nullable = false, format = Email)]
    email: Option<String>,
    #[schema(value_type = Subject, required = true)]
    subject: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, max_length = 2000)]
    message: Option<String>,
}

/// `subject`: one of [`SUBJECTS`] (schema only).
struct Subject;

impl utoipa::PartialSchema for Subject {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(SUBJECTS))
            .into()
    }
}

impl utoipa::ToSchema for Subject {
    fn name() -> std::borrow::Cow<'static, str> {
        "ContactSubject".into()
    }
}

/// Send a message to the team: no account needed, strictly rate limited
/// (by default 3 per 15 minutes per client).
#[utoipa::path(post, path = "/v1/contact", tag = "contact",
    responses((status = 201, description = "Received", body = Envelope<Received>)))]
pub async fn submit(
    req: HttpRequest,
    body: web::Json<ContactBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let message = parse(body.into_inner())?;
    let from = Sender {
        ip_address: state.client_ip.of_request(&req).to_string(),
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    };
    let received = contact::submit(&state, message, from).await?;
    Ok(created(
        "Thank you for contacting us. We will get back to you soon.",
        received,
    ))
}

fn parse(body: ContactBody) -> Result<Message, ApiError> {
    let mut c = Checks::default();
    let first = c
        .check(
            "firstName",
            FirstName::try_from(body.first_name.unwrap_or_default().as_str()),
        )
        .map(FirstName::into_string);
    let last = c
        .check(
            "lastName",
            LastName::try_from(body.last_name.unwrap_or_default().as_str()),
        )
        .map(LastName::into_string);
    let message = c
        .check(
            "message",
            MessageText::try_from(body.message.unwrap_or_default().as_str()),
        )
        .map(MessageText::into_string);
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
    Ok(Message {
        first_name,
        last_name,
        email,
        subject,
        message,
    })
}
