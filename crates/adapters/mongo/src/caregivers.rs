//! The `caregivers` collection.

use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::Utc;
use domain::{Caregiver, PasswordHash, UserId};
use futures::TryStreamExt as _;
use mongodb::Collection;
use ports::{CaregiverFilter, CaregiverRepository, RepoError};

use crate::codec::{REVISION, caregiver_changes, caregiver_from_doc, date, oid, opt_str, revision_bson};
use crate::connection::DbHandle;
use crate::error::ctx;
use crate::parents::{credentials_taken_in, exact_login_filter, login_filter};
use crate::{CAREGIVERS, contains_ignoring_case, equals_ignoring_case, update_at_revision};

/// [`CaregiverRepository`] over the legacy `caregivers` collection.
#[derive(Debug, Clone)]
pub struct MongoCaregiverRepository {
    handle: DbHandle,
}

/// Caregivers whose `profilePath` is missing, `null` or empty.
pub(crate) fn missing_profile_path() -> Document {
    doc! { "profilePath": { "$in": [Bson::Null, ""] } }
}

/// The values a postal code may be stored as: the text and, for a five-digit code, the number
/// legacy documents hold (`50667` as Int32 or Int64; `01067` as `1067`, its lost leading zero).
pub(crate) fn postal_code_values(postal_code: &str) -> Document {
    let mut values = vec![Bson::String(postal_code.to_owned())];
    let digits = postal_code.len() == 5 && postal_code.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = digits.then(|| postal_code.parse::<i64>().ok()).flatten() {
        if let Ok(small) = i32::try_from(n) {
            values.push(Bson::Int32(small));
        }
        values.push(Bson::Int64(n));
    }
    doc! { "$in": values }
}

/// The search filter: every present filter must hold.
pub(crate) fn search_filter(filter: &CaregiverFilter) -> Document {
    let mut and = Vec::<Bson>::new();
    if let Some(pc) = filter.postal_code.as_deref().filter(|s| !s.is_empty()) {
        and.push(Bson::Document(doc! { "postalCode": postal_code_values(pc) }));
    }
    if let Some(city) = filter.city.as_deref().filter(|s| !s.is_empty()) {
        and.push(Bson::Document(doc! { "city": equals_ignoring_case(city) }));
    }
    if let Some(slug) = filter.city_slug.as_deref().filter(|s| !s.is_empty()) {
        and.push(Bson::Document(doc! { "citySlug": slug }));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        let any: Vec<Bson> = ["postalCode", "city", "daycareName", "name"]
            .into_iter()
            .map(|field| {
                let mut d = Document::new();
                d.insert(field, contains_ignoring_case(search));
                Bson::Document(d)
            })
            .collect();
        and.push(Bson::Document(doc! { "$or": any }));
    }
    if and.is_empty() {
        Document::new()
    } else {
        doc! { "$and": and }
    }
}

fn read(doc: &Document) -> Option<Caregiver> {
    let caregiver = caregiver_from_doc(doc);
    if caregiver.is_none() {
        tracing::warn!("skipping a caregiver document without a usable _id");
    }
    caregiver
}

impl MongoCaregiverRepository {
    pub(crate) fn new(handle: DbHandle) -> Self {
        Self { handle }
    }

    fn coll(&self) -> Result<Collection<Document>, RepoError> {
        self.handle.coll(CAREGIVERS)
    }

    async fn find_one(&self, filter: Document, what: &'static str) -> Result<Option<Caregiver>, RepoError> {
        let found = self.coll()?.find_one(filter).await.map_err(ctx(what))?;
        Ok(found.as_ref().and_then(read))
    }

    async fn find_many(
        &self,
        filter: Document,
        skip: Option<u64>,
        limit: Option<u64>,
        what: &'static str,
    ) -> Result<Vec<Caregiver>, RepoError> {
        let coll = self.coll()?;
        let mut find = coll.find(filter).sort(doc! { "createdAt": -1, "_id": -1 });
        if let Some(skip) = skip {
            find = find.skip(skip);
        }
        if let Some(limit) = limit {
            find = find.limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let docs: Vec<Document> = find.await.map_err(ctx(what))?.try_collect().await.map_err(ctx(what))?;
        Ok(docs.iter().filter_map(read).collect())
    }

    /// Caregivers without a profile path (shared with the backfill).
    pub(crate) async fn without_profile_path_docs(&self) -> Result<Vec<Caregiver>, RepoError> {
        self.find_many(missing_profile_path(), None, None, "listing caregivers without profile path").await
    }

    /// `true` if a caregiver other than `except` uses `path` as current or legacy path.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn path_taken(&self, path: &str, except: Option<&UserId>) -> Result<bool, RepoError> {
        let mut filter = doc! { "$or": [ { "profilePath": path }, { "legacyProfilePaths": path } ] };
        if let Some(id) = except {
            filter.insert("_id", doc! { "$ne": oid(id)? });
        }
        let found = self
            .coll()?
            .find_one(filter)
            .projection(doc! { "_id": 1 })
            .await
            .map_err(ctx("checking a profile path"))?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl CaregiverRepository for MongoCaregiverRepository {
    #[tracing::instrument(skip_all, fields(user_id = %caregiver.id))]
    async fn insert(&self, caregiver: &Caregiver) -> Result<(), RepoError> {
        let now = Utc::now();
        let mut doc = caregiver_changes(caregiver, Utc::now().date_naive()).into_insert(oid(&caregiver.id)?);
        doc.insert(REVISION, revision_bson(caregiver.revision));
        if caregiver.created_at.is_none() {
            doc.insert("createdAt", date(now));
        }
        doc.insert("updatedAt", date(caregiver.updated_at.unwrap_or(now)));
        self.coll()?.insert_one(doc).await.map_err(ctx("inserting caregiver"))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn find_by_id(&self, id: &UserId) -> Result<Option<Caregiver>, RepoError> {
        self.find_one(doc! { "_id": oid(id)? }, "finding a caregiver").await
    }

    #[tracing::instrument(skip_all)]
    async fn find_by_login(&self, identifier: &str) -> Result<Option<Caregiver>, RepoError> {
        if identifier.trim().is_empty() {
            return Ok(None);
        }
        if let Some(c) = self.find_one(exact_login_filter(identifier), "finding a caregiver by login").await? {
            return Ok(Some(c));
        }
        self.find_one(login_filter(identifier), "finding a caregiver by login").await
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

    #[tracing::instrument(skip_all)]
    async fn search(&self, filter: &CaregiverFilter) -> Result<Vec<Caregiver>, RepoError> {
        self.find_many(search_filter(filter), filter.skip, filter.limit, "searching caregivers").await
    }

    #[tracing::instrument(skip_all)]
    async fn find_by_profile_path(&self, path: &str) -> Result<Option<Caregiver>, RepoError> {
        if let Some(c) = self.find_one(doc! { "profilePath": path }, "finding a caregiver by profile path").await? {
            return Ok(Some(c));
        }
        self.find_one(doc! { "legacyProfilePaths": path }, "finding a caregiver by legacy profile path").await
    }

    // Instrumented in `path_taken`.
    async fn profile_path_taken<'a>(&self, path: &str, except: Option<&'a UserId>) -> Result<bool, RepoError> {
        self.path_taken(path, except).await
    }

    #[tracing::instrument(skip_all)]
    async fn cities_for_postal_code(&self, postal_code: &str) -> Result<Vec<String>, RepoError> {
        const WHAT: &str = "listing cities of a postal code";
        let docs: Vec<Document> = self
            .coll()?
            .find(doc! { "postalCode": postal_code_values(postal_code) })
            .projection(doc! { "city": 1 })
            .await
            .map_err(ctx(WHAT))?
            .try_collect()
            .await
            .map_err(ctx(WHAT))?;
        Ok(docs.iter().filter_map(|d| opt_str(d, "city")).map(|c| c.trim().to_owned()).collect())
    }

    #[tracing::instrument(skip_all)]
    async fn without_profile_path(&self) -> Result<Vec<Caregiver>, RepoError> {
        self.without_profile_path_docs().await
    }

    #[tracing::instrument(skip_all, fields(user_id = %caregiver.id))]
    async fn update(&self, caregiver: &Caregiver) -> Result<bool, RepoError> {
        let mut changes = caregiver_changes(caregiver, Utc::now().date_naive());
        changes.set_updated_at(Utc::now());
        changes.set_revision(caregiver.revision + 1);
        let id = oid(&caregiver.id)?;
        update_at_revision(&self.coll()?, id, caregiver.revision, changes.into_update(), "updating caregiver").await
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
            .map_err(ctx("setting caregiver password"))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %id))]
    async fn delete(&self, id: &UserId) -> Result<bool, RepoError> {
        let r = self.coll()?.delete_one(doc! { "_id": oid(id)? }).await.map_err(ctx("deleting caregiver"))?;
        Ok(r.deleted_count > 0)
    }
}
