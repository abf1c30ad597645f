//! The `accountIdentifiers` collection: one document per claimed login identifier,
//! `{_id: "<lower-cased email or username>", userId: "<24-hex id>", createdAt: <date>}`.
//!
//! The `_id` makes every identifier unique across parents and caregivers, which the per-collection
//! unique indexes of `parents` and `caregivers` cannot.
//!
//! Registration claims before it inserts the account and deletion releases after it deleted it,
//! best effort; a crash in between leaves a claim whose holder has no account. Such a claim is
//! taken over once it is older than [`STALE_CLAIM_GRACE`] (a younger one may belong to a
//! registration in progress). An update that fails or gives up after concurrent changes may leave
//! a claim its (existing) holder does not use: taken over after [`UNUSED_CLAIM_GRACE`].

use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::{DateTime, TimeDelta, Utc};
use domain::UserId;
use futures::TryStreamExt as _;
use mongodb::{Collection, Database};
use ports::{IdentifierRegistry, RepoError};

use crate::codec::{date, doc_id, opt_date, opt_str};
use crate::connection::DbHandle;
use crate::error::{ctx, describe, is_duplicate, repo_error};
use crate::{CAREGIVERS, IDENTIFIERS, PARENTS};

/// A claim whose holder has no account is only taken over once it is this old: a younger one
/// may belong to a registration that has claimed but not yet inserted its account.
pub const STALE_CLAIM_GRACE: TimeDelta = TimeDelta::minutes(10);

/// A claim whose holder exists but uses other identifiers is taken over once it is this old: an
/// update claims right before it writes, so an older one was left by an update that failed or
/// gave up after concurrent changes.
pub const UNUSED_CLAIM_GRACE: TimeDelta = TimeDelta::minutes(2);

/// How often a claim is retried when the holder of an identifier vanished between the refused
/// insert and the lookup of the holder (it was released concurrently, or was stale and removed).
const MAX_CLAIM_RETRIES: u32 = 3;

/// [`IdentifierRegistry`] over the `accountIdentifiers` collection.
#[derive(Debug, Clone)]
pub struct MongoIdentifierRegistry {
    handle: DbHandle,
}

/// The field a refused identifier most likely came from (for [`RepoError::Duplicate`]).
fn field_of(identifier: &str) -> &'static str {
    if identifier.contains('@') { "email" } else { "username" }
}

fn claim_doc(identifier: &str, owner: &str) -> Document {
    doc! { "_id": identifier, "userId": owner, "createdAt": date(Utc::now()) }
}

/// The claim document of an identifier, if it is claimed.
async fn claim_of(coll: &Collection<Document>, identifier: &str) -> Result<Option<Document>, RepoError> {
    coll.find_one(doc! { "_id": identifier })
        .projection(doc! { "userId": 1, "createdAt": 1 })
        .await
        .map_err(ctx("reading the holder of a login identifier"))
}

/// What the holder of a claim makes of the claimed identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// No parent or caregiver has the holder's id.
    Missing,
    /// The holder's account uses the identifier as its email or username.
    Uses,
    /// The holder exists but uses other identifiers: the claim is left over from an update that
    /// failed or lost a concurrent race.
    DoesNotUse,
}

/// Looks the holder `user_id` of a claim of `identifier` up (`_id` as ObjectId or legacy string).
async fn holder_state(db: &Database, user_id: &str, identifier: &str) -> Result<Holder, RepoError> {
    let mut ids = vec![Bson::String(user_id.to_owned())];
    if let Ok(o) = bson::oid::ObjectId::parse_str(user_id) {
        ids.push(Bson::ObjectId(o));
    }
    for collection in [PARENTS, CAREGIVERS] {
        let found = db
            .collection::<Document>(collection)
            .find_one(doc! { "_id": { "$in": ids.clone() } })
            .projection(doc! { "_id": 1, "email": 1, "username": 1 })
            .await
            .map_err(ctx("checking the holder of a login identifier"))?;
        if let Some(account) = found {
            let email = opt_str(&account, "email").unwrap_or_default();
            let username = opt_str(&account, "username").unwrap_or_else(|| email.clone());
            let uses = domain::account::login_identifiers(&email, &username).iter().any(|i| i == identifier);
            return Ok(if uses { Holder::Uses } else { Holder::DoesNotUse });
        }
    }
    Ok(Holder::Missing)
}

/// `true` if a claim made at `created_at` is at least `grace` old at `now`. A claim without a
/// (readable) date was not written by this service's registration and counts as old.
fn past_grace(created_at: Option<DateTime<Utc>>, now: DateTime<Utc>, grace: TimeDelta) -> bool {
    created_at.is_none_or(|t| now - t >= grace)
}

/// Removes `claim` if it is stale: its holder has no account and it is past
/// [`STALE_CLAIM_GRACE`], or its holder uses other identifiers and it is past
/// [`UNUSED_CLAIM_GRACE`]. `true` if it is gone (removed here or concurrently). The delete is
/// conditioned on the claim as read, so a claim made anew in the meantime is never removed.
async fn remove_if_stale(
    db: &Database,
    coll: &Collection<Document>,
    claim: &Document,
    identifier: &str,
) -> Result<bool, RepoError> {
    let holder = claim.get_str("userId").unwrap_or_default();
    let created = opt_date(claim, "createdAt");
    let now = Utc::now();
    let stale = match holder_state(db, holder, identifier).await? {
        Holder::Missing => past_grace(created, now, STALE_CLAIM_GRACE),
        Holder::DoesNotUse => past_grace(created, now, UNUSED_CLAIM_GRACE),
        Holder::Uses => false,
    };
    if !stale {
        return Ok(false);
    }
    let filter = doc! {
        "_id": claim.get("_id").cloned().unwrap_or(Bson::Null),
        "userId": claim.get("userId").cloned().unwrap_or(Bson::Null),
        "createdAt": claim.get("createdAt").cloned().unwrap_or(Bson::Null),
    };
    let removed = coll.delete_one(filter).await.map_err(ctx("removing a stale login identifier claim"))?;
    if removed.deleted_count > 0 {
        tracing::info!(holder_id = holder, "removed a stale login identifier claim its holder does not use");
    }
    Ok(true)
}

/// Whose an identifier is after trying to claim it.
enum Claimed {
    /// Inserted by this call.
    Now,
    /// Already held by the same owner.
    Before,
    /// Held by the account with this id.
    By(String),
}

/// Inserts the claim of `identifier` for `owner` unless it is already claimed by an existing
/// account (or recently: see [`STALE_CLAIM_GRACE`]).
async fn claim_one(db: &Database, owner: &str, identifier: &str) -> Result<Claimed, RepoError> {
    let coll = db.collection::<Document>(IDENTIFIERS);
    for _ in 0..MAX_CLAIM_RETRIES {
        match coll.insert_one(claim_doc(identifier, owner)).await {
            Ok(_) => return Ok(Claimed::Now),
            Err(e) if is_duplicate(&e) => {
                // `None`: released between the insert and the lookup; try again.
                if let Some(claim) = claim_of(&coll, identifier).await? {
                    let holder = claim.get_str("userId").unwrap_or_default().to_owned();
                    if holder == owner {
                        // Renewed: an old claim the owner is about to use again must not look
                        // left over to another instance (see `UNUSED_CLAIM_GRACE`).
                        coll.update_one(
                            doc! { "_id": identifier, "userId": owner },
                            doc! { "$set": { "createdAt": date(Utc::now()) } },
                        )
                        .await
                        .map_err(ctx("renewing a login identifier claim"))?;
                        return Ok(Claimed::Before);
                    }
                    // A stale claim is gone now: try again.
                    if !remove_if_stale(db, &coll, &claim, identifier).await? {
                        return Ok(Claimed::By(holder));
                    }
                }
            }
            Err(e) => return Err(repo_error(e, "claiming a login identifier")),
        }
    }
    Err(RepoError::Other(anyhow::anyhow!("a login identifier kept being claimed and released concurrently")))
}

impl MongoIdentifierRegistry {
    pub(crate) fn new(handle: DbHandle) -> Self {
        Self { handle }
    }

    /// Best-effort removal of the claims one `claim` call inserted before it failed.
    async fn roll_back(&self, db: &Database, owner: &str, inserted: &[String]) {
        if inserted.is_empty() {
            return;
        }
        let filter = doc! { "_id": { "$in": inserted }, "userId": owner };
        if let Err(e) = db.collection::<Document>(IDENTIFIERS).delete_many(filter).await {
            tracing::warn!(user_id = owner, error = %describe(&e), "could not roll back login identifier claims");
        }
    }
}

#[async_trait]
impl IdentifierRegistry for MongoIdentifierRegistry {
    #[tracing::instrument(skip_all, fields(user_id = %owner))]
    async fn claim(&self, owner: &UserId, identifiers: &[String]) -> Result<(), RepoError> {
        let owner = owner.as_str();
        let db = self.handle.db()?;
        let mut inserted: Vec<String> = Vec::with_capacity(identifiers.len());
        for identifier in identifiers {
            if inserted.contains(identifier) {
                continue;
            }
            match claim_one(&db, owner, identifier).await {
                Ok(Claimed::Now) => inserted.push(identifier.clone()),
                Ok(Claimed::Before) => {}
                Ok(Claimed::By(holder)) => {
                    tracing::info!(user_id = owner, holder_id = %holder, "login identifier held by another account");
                    self.roll_back(&db, owner, &inserted).await;
                    return Err(RepoError::Duplicate { field: Some(field_of(identifier).to_owned()) });
                }
                Err(e) => {
                    self.roll_back(&db, owner, &inserted).await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user_id = %owner))]
    async fn release_except(&self, owner: &UserId, keep: &[String]) -> Result<(), RepoError> {
        self.handle
            .coll(IDENTIFIERS)?
            .delete_many(doc! { "userId": owner.as_str(), "_id": { "$nin": keep } })
            .await
            .map_err(ctx("releasing login identifiers"))?;
        Ok(())
    }
}

/// Claims the identifiers of every account of collection `accounts` that lacks them; returns how
/// many claims were inserted. Identifiers shared by two legacy accounts stay with the first
/// claimant and are logged (ids only).
pub(crate) async fn backfill_collection(
    registry: &MongoIdentifierRegistry,
    accounts: &Collection<Document>,
) -> anyhow::Result<u64> {
    let what = "listing accounts for the login identifier backfill";
    // Read the (small, projected) list first rather than writing while a cursor is open.
    let listed: Vec<Document> = accounts
        .find(doc! {})
        .projection(doc! { "_id": 1, "email": 1, "username": 1 })
        .await
        .map_err(ctx(what))?
        .try_collect()
        .await
        .map_err(ctx(what))?;
    let mut inserted = 0;
    for account in listed {
        let Some(id) = doc_id(&account) else { continue };
        let email = opt_str(&account, "email").unwrap_or_default();
        let username = opt_str(&account, "username").unwrap_or_else(|| email.clone());
        let wanted = domain::account::login_identifiers(&email, &username);
        inserted += backfill_account(registry, accounts, &account, &id, &wanted).await?;
    }
    Ok(inserted)
}

async fn backfill_account(
    registry: &MongoIdentifierRegistry,
    accounts: &Collection<Document>,
    account: &Document,
    id: &UserId,
    wanted: &[String],
) -> anyhow::Result<u64> {
    let db = registry.handle.db()?;
    let owner = id.as_str();
    let held: Vec<Document> = db
        .collection::<Document>(IDENTIFIERS)
        .find(doc! { "_id": { "$in": wanted } })
        .await
        .map_err(ctx("reading login identifier claims"))?
        .try_collect()
        .await
        .map_err(ctx("reading login identifier claims"))?;
    let mut inserted = 0;
    for identifier in wanted {
        let holder = held.iter().find(|d| d.get_str("_id").is_ok_and(|i| i == identifier));
        let claimed = match holder {
            Some(d) if d.get_str("userId").is_ok_and(|h| h == owner) => Claimed::Before,
            // Unclaimed, or held by another account: `claim_one` takes stale claims over.
            _ => claim_one(&db, owner, identifier).await?,
        };
        match claimed {
            Claimed::Now => inserted += 1,
            Claimed::Before => {}
            Claimed::By(other) => tracing::warn!(
                user_id = owner,
                holder_id = %other,
                "two accounts share a login identifier; it stays with the account that claimed it first"
            ),
        }
    }
    if inserted > 0 {
        // The account may have been deleted (and its claims released) since it was listed: then
        // the claims just made would block its identifiers forever.
        let raw_id = account.get("_id").cloned().unwrap_or(Bson::Null);
        let exists = accounts
            .find_one(doc! { "_id": raw_id })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(ctx("checking an account during the login identifier backfill"))?;
        if exists.is_none() {
            registry.release_except(id, &[]).await?;
            return Ok(0);
        }
    }
    Ok(inserted)
}
