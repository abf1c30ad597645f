//! The `matches` collection (references stored as id strings, like the legacy backend did).

use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::Utc;
use domain::{Match, UserId};
use futures::TryStreamExt as _;
use mongodb::Collection;
use mongodb::options::ReturnDocument;
use ports::{MatchRepository, RepoError};

use crate::MATCHES;
use crate::codec::{date, match_from_doc, oid};
use crate::connection::DbHandle;
use crate::error::{ctx, is_duplicate, repo_error};

/// [`MatchRepository`] over the legacy `matches` collection.
#[derive(Debug, Clone)]
pub struct MongoMatchRepository {
    handle: DbHandle,
}

impl MongoMatchRepository {
    pub(crate) fn new(handle: DbHandle) -> Self {
        Self { handle }
    }

    fn coll(&self) -> Result<Collection<Document>, RepoError> {
        self.handle.coll(MATCHES)
    }
}

/// Matches the user takes part in. References are strings; an ObjectId written by some other
/// tool is matched too.
fn user_filter(user_id: &UserId) -> Document {
    let mut values = vec![Bson::String(user_id.as_str().to_owned())];
    if let Ok(o) = oid(user_id) {
        values.push(Bson::ObjectId(o));
    }
    doc! { "$or": [
        { "parentId": { "$in": values.clone() } },
        { "caregiverId": { "$in": values } },
    ]}
}

fn read(doc: &Document) -> Option<Match> {
    let m = match_from_doc(doc);
    if m.is_none() {
        tracing::warn!("skipping a match document without a usable _id");
    }
    m
}

#[async_trait]
impl MatchRepository for MongoMatchRepository {
    #[tracing::instrument(skip_all, fields(parent_id = %parent_id, caregiver_id = %caregiver_id))]
    async fn upsert(&self, parent_id: &UserId, caregiver_id: &UserId) -> Result<Match, RepoError> {
        let filter = doc! { "parentId": parent_id.as_str(), "caregiverId": caregiver_id.as_str() };
        // Two concurrent upserts of a new pair can both try to insert; the unique index refuses
        // the second, which then finds the first one's document on the retry.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let now = date(Utc::now());
            let update = doc! {
                "$setOnInsert": { "createdAt": now.clone() },
                "$set": { "updatedAt": now },
            };
            let result = self
                .coll()?
                .find_one_and_update(filter.clone(), update)
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match result {
                Ok(Some(doc)) => {
                    return read(&doc)
                        .ok_or_else(|| RepoError::Other(anyhow::anyhow!("upserted match has no usable _id")));
                }
                Ok(None) => {
                    return Err(RepoError::Other(anyhow::anyhow!("upsert of a match returned no document")));
                }
                Err(e) if attempts < 2 && is_duplicate(&e) => {}
                Err(e) => return Err(repo_error(e, "upserting match")),
            }
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    async fn for_user(&self, user_id: &UserId) -> Result<Vec<Match>, RepoError> {
        const WHAT: &str = "listing matches";
        let docs: Vec<Document> = self
            .coll()?
            .find(user_filter(user_id))
            .sort(doc! { "createdAt": -1, "_id": -1 })
            .await
            .map_err(ctx(WHAT))?
            .try_collect()
            .await
            .map_err(ctx(WHAT))?;
        Ok(docs.iter().filter_map(read).collect())
    }

    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    async fn delete_for_user(&self, user_id: &UserId) -> Result<u64, RepoError> {
        let r = self.coll()?.delete_many(user_filter(user_id)).await.map_err(ctx("deleting matches"))?;
        Ok(r.deleted_count)
    }
}
