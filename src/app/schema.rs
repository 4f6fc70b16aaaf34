//! Schema-only types for the API description (`crate::http::openapi`):
//! what a value looks like on the wire where its Rust type says less (an id
//! is a `String` in the views, an empty answer a `serde_json::Value`). Used
//! as `#[schema(value_type = Id)]` and in `#[utoipa::path]` bodies; never
//! constructed.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A MongoDB ObjectId as the API writes it: 24 lower-case hex digits.
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-fA-F]{24}$"))
            .description(Some("An id: 24 hex digits"))
            .examples([serde_json::json!("665f1c2ab1e4a5c3d2f10a9b")])
            .into()
    }
}

impl ToSchema for Id {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ObjectId")
    }
}

/// `data: null`, the answer of a delete.
pub struct Null;

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}
