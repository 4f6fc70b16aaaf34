//! Other people as one viewer may see them: each user's public fields plus,
//! picked out by the database in the same query, the viewer's entries in
//! their friend lists (whether they are mutual friends) and what the viewer
//! typed when adding them. One command, like the plain summary read it
//! replaces, and no friend list travels over the wire in full.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::Store;
use crate::domain::friendship::{visible_contact, Seen, Typed};
use crate::domain::money::Currency;
use crate::store::StoreError;

/// A user as `viewer` may see them: contact details already reduced to what
/// the privacy rules allow ([`visible_contact`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: ObjectId,
    pub name: String,
    /// Empty when not to be shown (the app reads it as a string).
    pub email: String,
    pub phone_number: Option<String>,
    pub profile_image: Option<String>,
    /// Not shown to others; the viewer's own reads its currency from here.
    pub default_currency: Option<Currency>,
    /// A member without an account.
    pub guest: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    profile_image: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::domain::money::stored_currency::option::deserialize"
    )]
    default_currency: Option<Currency>,
    #[serde(default)]
    is_active: bool,
    #[serde(default)]
    guest: bool,
    /// The viewer, if among their friends (else empty).
    #[serde(default)]
    friends: Vec<ObjectId>,
    /// The viewer, if they asked the viewer and wait.
    #[serde(default)]
    friends_out: Vec<ObjectId>,
    /// The viewer, if the viewer asked them and waits.
    #[serde(default)]
    friends_in: Vec<ObjectId>,
    /// What the viewer typed when adding them, if they did.
    #[serde(default)]
    known_as: Vec<TypedRow>,
}

/// An entry of a user's `knownAs`: what `by` typed when adding them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedRow {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
}

impl Store {
    /// The users `ids` as `viewer` may see them, in one query, in no
    /// particular order; unknown ids are left out.
    pub async fn people(
        &self,
        viewer: ObjectId,
        ids: &[ObjectId],
    ) -> Result<Vec<Person>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // `$elemMatch` projections bring back at most the viewer's own entry
        // of each list (cheaper for the database than computing the same in
        // an aggregation, and no friend list travels in full).
        let mine = doc! { "$elemMatch": { "$eq": viewer } };
        let projection = doc! {
            "name": 1, "email": 1, "phoneNumber": 1, "profileImage": 1,
            "defaultCurrency": 1, "isActive": 1, "guest": 1,
            "friends": mine.clone(), "friendsOut": mine.clone(), "friendsIn": mine,
            "knownAs": { "$elemMatch": { "by": viewer } },
        };
        let rows: Vec<Row> = self
            .users()
            .clone_with_type::<Row>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(projection)
            .await?
            .try_collect()
            .await?;
        Ok(rows.into_iter().map(|r| r.into_person(viewer)).collect())
    }

    /// The documents an aggregation over `users` yields, as `T`.
    pub(super) async fn users_aggregate<T: DeserializeOwned>(
        &self,
        pipeline: impl IntoIterator<Item = Document>,
    ) -> Result<Vec<T>, StoreError> {
        let rows: Vec<Document> = self
            .users()
            .clone_with_type::<Document>()
            .aggregate(pipeline)
            .await?
            .try_collect()
            .await?;
        rows.into_iter()
            .map(|d| mongodb::bson::from_document(d).map_err(StoreError::internal))
            .collect()
    }
}

impl Row {
    fn into_person(self, viewer: ObjectId) -> Person {
        // Seen from their document: the viewer is among their friends and in
        // neither of their not-yet-agreed lists.
        let mutual =
            !self.friends.is_empty() && self.friends_out.is_empty() && self.friends_in.is_empty();
        let typed = self.known_as.into_iter().next().map(|t| Typed {
            email: t.email,
            phone: t.phone_number,
        });
        let shown = visible_contact(
            viewer,
            &Seen {
                id: self.id,
                is_active: self.is_active,
                email: &self.email,
                phone: self.phone_number.as_deref(),
                mutual,
                typed: typed.as_ref(),
            },
        );
        Person {
            id: self.id,
            name: self.name,
            // A guest's address is a placeholder, never shown.
            email: shown.email.filter(|_| !self.guest).unwrap_or_default(),
            phone_number: shown.phone,
            profile_image: self.profile_image,
            default_currency: self.default_currency,
            guest: self.guest,
        }
    }
}
