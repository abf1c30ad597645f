//! The `parents` collection.

use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::Utc;
use domain::{Parent, PasswordHash, UserId};
use mongodb::Collection;
use ports::{ParentRepository, RepoError};

use crate::codec::{REVISION, date, oid, parent_changes, parent_from_doc, revision_bson};
use crate::connection::DbHandle;
use crate::error::ctx;
use crate::{PARENTS, equals_ignoring_case, update_at_revision};

/// [`ParentRepository`] over the legacy `parents` collection.
#[derive(Debug, Clone)]
pub struct MongoParentRepository {
    handle: DbHandle,
}

impl MongoParentRepository {
    pub(crate) fn new(handle: DbHandle) -> Self {
        Self { handle }
    }

    fn coll(&self) -> Result<Collection<Document>, RepoError> {
        self.handle.coll(PARENTS)
    }
}

/// `{email ≈ identifier} OR {username ≈ identifier}`, both ignoring case (uniqueness ignores
/// case too). A case-insensitive regex cannot use the indexes' bounds, so `find_by_login` tries
/// [`exact_login_filter`] first.
pub(crate) fn login_filter(identifier: &str) -> Document {
    doc! { "$or": [
        { "email": equals_ignoring_case(identifier) },
        { "username": equals_ignoring_case(identifier) },
    ]}
}

/// `{email == identifier} OR {username == identifier}` (served by the unique indexes).
pub(crate) fn exact_login_filter(identifier: &str) -> Document {
    doc! { "$or": [ { "username": identifier }, { "email": identifier } ] }
}

/// Any account (other than `except`) whose email or username collides with `email`/`username`,
/// ignoring case (`EVE` collides with `eve`).
pub(crate) fn credentials_filter(email: &str, username: &str, except: Option<&UserId>) -> Option<Document> {
    let mut or = Vec::<Bson>::new();
    for value in [email, username] {
        if value.trim().is_empty() {
            continue;
        }
        or.push(Bson::Document(doc! { "email": equals_ignoring_case(value) }));
        or.push(Bson::Document(doc! { "username": equals_ignoring_case(value) }));
    }
    if or.is_empty() {
        return None;
    }
    let mut filter = doc! { "$or": or };
    if let Some(id) = except.and_then(|id| oid(id).ok()) {
        filter.insert("_id", doc! { "$ne": id });
    }
    Some(filter)
}

/// `true` if an account of `coll` other than `except` uses this email or username.
pub(crate) async fn credentials_taken_in(
    coll: &Collection<Document>,
    email: &str,
    username: &str,
    except: Option<&UserId>,
) -> Result<bool, RepoError> {
    let Some(filter) = credentials_filter(email, username, except) else { return Ok(false) };
    let found =
        coll.find_one(filter).projection(doc! { "_id": 1 }).await.map_err(ctx("checking account credentials"))?;
    Ok(found.is_some())
}

/// The first parent the filter finds.
async fn find_parent(coll: &Collection<Document>, filter: Document) -> Result<Option<Parent>, RepoError> {
    let found = coll.find_one(filter).await.map_err(ctx("finding a parent"))?;
    Ok(found.as_ref().and_then(log_unreadable))
}

fn log_unreadable(doc: &Document) -> Option<Parent> {
    let parent = parent_from_doc(doc);
    if parent.is_none() {
        tracing::warn!("skipping a parent document without a usable _id");
    }
    parent
}

#[async_trait]
impl ParentRepository for MongoParentRepository {
    #[tracing::instrument(skip_all, fields(user_id = %parent.id))]
    async fn insert(&self, parent: &Parent) -> Result<(), RepoError> {
        let now = Utc::now();
        let mut doc = parent_changes(parent).into_insert(oid(&parent.id)?);
        doc.insert(REVISION, revision_bson(parent.revision));
        if parent.created_at.is_none() {
            doc.insert("createdAt", date(now));
        }
        doc.insert("updatedAt", date(parent.updated_at.unwrap_or(now)));
        self.coll()?.insert_one(doc).await.map_err(ctx("inserting parent"))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn find_by_id(&self, id: &UserId) -> Result<Option<Parent>, RepoError> {
        find_parent(&self.coll()?, doc! { "_id": oid(id)? }).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_by_login(&self, identifier: &str) -> Result<Option<Parent>, RepoError> {
        if identifier.trim().is_empty() {
            return Ok(None);
        }
        // An exact match first, so an account whose username is someone else's email (in another
        // case) cannot shadow the exact owner.
        if let Some(p) = find_parent(&self.coll()?, exact_login_filter(identifier)).await? {
            return Ok(Some(p));
        }
        find_parent(&self.coll()?, login_filter(identifier)).await
    }

    // Instrumented in `credentials_taken_in` (`#[instrument]` cannot handle `Option<&_>` here).
    async fn credentials_taken<'a>(
        &self,
        email: &str,
        username: &str,
        except: Option<&'a UserId>,
    ) -> Result<bool, RepoError> {
        credentials_taken_in(&self.coll()?, email, username, except).await
    }

    #[tracing::instrument(skip_all, fields(user_id = %parent.id))]
    async fn update(&self, parent: &Parent) -> Result<bool, RepoError> {
        let mut changes = parent_changes(parent);
        changes.set_updated_at(Utc::now());
        changes.set_revision(parent.revision + 1);
        let id = oid(&parent.id)?;
        update_at_revision(&self.coll()?, id, parent.revision, changes.into_update(), "updating parent").await
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn set_password(&self, id: &UserId, hash: &PasswordHash) -> Result<(), RepoError> {
        self.coll()?
            .update_one(
                doc! { "_id": oid(id)? },
                doc! {
                    "$set": { "password": hash.stored(), "updatedAt": date(Utc::now()) },
                    "$inc": { REVISION: 1_i64 },
                },
            )
            .await
            .map_err(ctx("setting parent password"))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn delete(&self, id: &UserId) -> Result<bool, RepoError> {
        let r = self.coll()?.delete_one(doc! { "_id": oid(id)? }).await.map_err(ctx("deleting parent"))?;
        Ok(r.deleted_count > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> Result<(), RepoError> {
        crate::ping(&self.handle).await
    }
}
