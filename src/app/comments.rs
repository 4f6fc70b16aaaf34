//! Comments on an expense or a payment: anyone who can see the object reads
//! them and writes one (others get 404, as if it did not exist); each
//! person deletes only their own (others': 403).

use mongodb::bson::{doc, oid::ObjectId, DateTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::expenses::access::{self, Access};
use super::schema::Id;
use super::views::{iso, Directory, UserRef};
use super::Page;
use crate::auth::AuthUser;
use crate::domain::inputs::CommentText;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::journal::{EntryDoc, ObjectRef};
use crate::store::{CommentDoc, ExpenseDoc, Kind};

/// What a comment is on: the same document kinds, named as the routes name
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Expense,
    Payment,
}

impl On {
    fn kind(self) -> Kind {
        match self {
            On::Expense => Kind::Expense,
            On::Payment => Kind::Payment,
        }
    }

    fn not_found(self) -> ApiError {
        ApiError::not_found(match self {
            On::Expense => "Expense not found",
            On::Payment => "Payment not found",
        })
    }
}

/// A comment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    text: String,
    /// Who wrote it.
    user: UserRef,
    /// ISO 8601, UTC.
    created_at: String,
}

/// The expense or payment `id` if `user` can see it; 404 otherwise (also
/// for an id of the other kind).
async fn visible(
    app: &AppState,
    user: AuthUser,
    on: On,
    id: ObjectId,
) -> Result<ExpenseDoc, ApiError> {
    match app.store.expense_by_id(id).await? {
        Some(doc) if doc.kind == on.kind() && access::of(&doc, user.id) != Access::None => Ok(doc),
        _ => Err(on.not_found()),
    }
}

async fn render(
    app: &AppState,
    viewer: ObjectId,
    comments: Vec<CommentDoc>,
) -> Result<Vec<CommentView>, ApiError> {
    let mut authors: Vec<ObjectId> = comments.iter().map(|c| c.author).collect();
    authors.sort_unstable();
    authors.dedup();
    let people = Directory::load(app, viewer, &authors).await?;
    Ok(comments
        .into_iter()
        .map(|c| CommentView {
            id: c.id.to_hex(),
            text: c.text,
            user: people.user(c.author),
            created_at: iso(c.created_at),
        })
        .collect())
}

/// One page of the comments on an expense or payment, oldest first, and how
/// many there are.
pub async fn list(
    app: &AppState,
    user: AuthUser,
    on: On,
    id: ObjectId,
    page: &Page,
) -> Result<(Vec<CommentView>, u64), ApiError> {
    visible(app, user, on, id).await?;
    let (comments, total) = app
        .store
        .comments_on(id, page.skip(), page.limit_i64())
        .await?;
    Ok((render(app, user.id, comments).await?, total))
}

/// Adds `user`'s comment.
pub async fn add(
    app: &AppState,
    user: AuthUser,
    on: On,
    id: ObjectId,
    text: CommentText,
) -> Result<CommentView, ApiError> {
    let object = visible(app, user, on, id).await?;
    let comment = CommentDoc {
        id: ObjectId::new(),
        on: id,
        author: user.id,
        text: text.into_string(),
        created_at: DateTime::now(),
    };
    let entry = comment_entry("comment.added", user.id, &object, &comment);
    app.store.insert_comment(&comment, &entry).await?;
    let mut views = render(app, user.id, vec![comment]).await?;
    views
        .pop()
        .ok_or_else(|| ApiError::internal("a rendered comment went missing"))
}

/// Deletes one of `user`'s comments on the object: 404 when the comment is
/// not on it (or the object is not visible), 403 when someone else wrote it.
pub async fn remove(
    app: &AppState,
    user: AuthUser,
    on: On,
    id: ObjectId,
    comment: ObjectId,
) -> Result<(), ApiError> {
    let object = visible(app, user, on, id).await?;
    let found = app.store.comment(comment).await?;
    let Some(found) = found.filter(|c| c.on == id) else {
        return Err(ApiError::not_found("Comment not found"));
    };
    if found.author != user.id {
        return Err(ApiError::forbidden("You can only delete your own comments"));
    }
    let entry = comment_entry("comment.removed", user.id, &object, &found);
    if !app.store.delete_comment(comment, user.id, &entry).await? {
        return Err(ApiError::not_found("Comment not found"));
    }
    Ok(())
}

/// The journal entry of a comment added or removed: in the object's
/// history, seen by its people.
fn comment_entry(
    kind: &str,
    actor: ObjectId,
    object: &ExpenseDoc,
    comment: &CommentDoc,
) -> EntryDoc {
    let mut entry = EntryDoc::new(
        kind,
        actor,
        ObjectRef {
            kind: object.kind.code().to_owned(),
            id: object.id,
        },
        object.participants.clone(),
    )
    .in_group(object.group)
    .with_subject(doc! {
        "d": object.description.as_str(),
        "comment": comment.id,
        "text": comment.text.as_str(),
    });
    entry.expense = Some(object.id);
    entry
}
