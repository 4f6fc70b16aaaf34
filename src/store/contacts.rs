//! The `contacts` collection: messages from the public contact form.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub status: String,
    pub created_at: DateTime,
}

impl Store {
    pub async fn insert_contact(&self, contact: &ContactDoc) -> Result<(), StoreError> {
        self.contacts().insert_one(contact).await?;
        Ok(())
    }
}
