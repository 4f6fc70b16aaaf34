//! How money reads in the API description (`crate::http::openapi`): amounts
//! leave as JSON numbers in major units ([`MajorUnits`]) and enter as a
//! number or a numeric string ([`AmountInput`]).

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::{AmountInput, MajorUnits};

impl PartialSchema for MajorUnits {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some(
                "An amount in major units of its currency (12.5 is 12.50 USD), \
                 with at most the currency's decimals",
            ))
            .examples([serde_json::json!(12.5)])
            .into()
    }
}

impl ToSchema for MajorUnits {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Money")
    }
}

impl PartialSchema for AmountInput {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "An amount in major units: a JSON number or a numeric string (\"12.50\"), \
                 rounded to the currency's minor unit",
            ))
            .examples([serde_json::json!(12.5)])
            .into()
    }
}

impl ToSchema for AmountInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Amount")
    }
}
