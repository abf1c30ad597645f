//! MongoDB repositories for Wimmelwelt.
//!
//! Reads and writes the legacy backend's collections (`parents`, `caregivers`, `matches`) in their
//! legacy document shapes (plus `accountIdentifiers`, the registry of claimed login identifiers), mapping documents by hand so that messy legacy data never fails to
//! read. Driver errors become [`ports::RepoError`]s: duplicate keys → `Duplicate`, unreachable
//! server → `Unavailable`.

mod caregivers;
mod codec;
mod connection;
mod error;
mod identifiers;
mod matches;
mod parents;
mod preparation;

use std::time::Duration;

use anyhow::Context as _;
use bson::{Bson, Document, doc};
use domain::{ProfilePath, UserId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use ports::RepoError;

pub use caregivers::MongoCaregiverRepository;
use connection::DbHandle;
pub use error::{describe_chain, is_unavailable_chain};
pub use identifiers::MongoIdentifierRegistry;
pub use matches::MongoMatchRepository;
pub use parents::MongoParentRepository;
pub use preparation::{IndexProblem, Preparation};

/// Collection of parents (legacy name).
pub const PARENTS: &str = "parents";
/// Collection of caregivers (legacy name).
pub const CAREGIVERS: &str = "caregivers";
/// Collection of matches (legacy name).
pub const MATCHES: &str = "matches";
/// Collection of claimed login identifiers (lower-cased emails and usernames), unique across
/// parents and caregivers.
pub const IDENTIFIERS: &str = "accountIdentifiers";

/// Give up the profile-path backfill of one caregiver after this many suffixes.
const MAX_PATH_SUFFIX: u32 = 10_000;

/// Builds a client for `uri` and selects database `db_name`.
///
/// Does not contact the server: the service can start while MongoDB is down, and each operation
/// then fails with [`RepoError::Unavailable`] after `server_selection_timeout`. For
/// `mongodb+srv://`, a DNS lookup that fails (or takes longer than `server_selection_timeout`)
/// is not an error either: it is retried in the background, and operations fail with
/// `Unavailable` until it succeeds. Only a malformed URI (bad scheme, syntax or option) is an
/// error here.
pub async fn connect(uri: &str, db_name: &str, server_selection_timeout: Duration) -> anyhow::Result<MongoStore> {
    let handle = connection::connect(uri, db_name, server_selection_timeout)
        .await
        .context("parsing the MongoDB connection string")?;
    Ok(MongoStore { handle })
}

/// A (possibly not yet connected) database; hands out the repositories. Cheap to clone (shares
/// one client pool).
#[derive(Debug, Clone)]
pub struct MongoStore {
    handle: DbHandle,
}

impl MongoStore {
    /// The parents repository.
    pub fn parents(&self) -> MongoParentRepository {
        MongoParentRepository::new(self.handle.clone())
    }

    /// The caregivers repository.
    pub fn caregivers(&self) -> MongoCaregiverRepository {
        MongoCaregiverRepository::new(self.handle.clone())
    }

    /// The matches repository.
    pub fn matches(&self) -> MongoMatchRepository {
        MongoMatchRepository::new(self.handle.clone())
    }

    /// The registry of login identifiers.
    pub fn identifiers(&self) -> MongoIdentifierRegistry {
        MongoIdentifierRegistry::new(self.handle.clone())
    }

    /// The underlying database handle (for tests and maintenance jobs); `Unavailable` while the
    /// connection string is not resolved yet.
    pub fn database(&self) -> Result<Database, RepoError> {
        self.handle.db()
    }

    /// `true` once the connection string is resolved and a client exists (the server may still
    /// be unreachable).
    pub fn is_resolved(&self) -> bool {
        self.handle.is_resolved()
    }

    /// One round trip (`ping`); `Unavailable` if the server cannot be reached in time.
    #[tracing::instrument(skip_all)]
    pub async fn ping(&self) -> Result<(), RepoError> {
        ping(&self.handle).await
    }

    /// Creates the indexes the repositories rely on. Idempotent: an index that already exists
    /// (under this or another name) is left alone. An index that cannot be built (e.g. legacy
    /// duplicates prevent a unique index, or the server is unreachable) is logged (collection,
    /// index and error code only) and returned; never fatal.
    #[tracing::instrument(skip_all)]
    pub async fn ensure_indexes(&self) -> Vec<IndexProblem> {
        preparation::ensure_indexes(&self.handle, index_models()).await
    }

    /// Gives every caregiver without `profilePath` one (`citySlug/daycareSlug`, suffixed `-2`,
    /// `-3`, … until no other caregiver uses it as current or legacy path). Each write still
    /// requires `profilePath` to be missing, so concurrent runs on several instances do no harm.
    /// Returns how many caregivers were updated.
    #[tracing::instrument(skip_all)]
    pub async fn backfill_profile_paths(&self) -> anyhow::Result<u64> {
        let repo = self.caregivers();
        let coll = self.handle.coll(CAREGIVERS)?;
        let pending = repo.without_profile_path_docs().await.context("listing caregivers without profile path")?;
        let mut updated = 0;
        for caregiver in pending {
            let wanted = caregiver.wanted_profile_path();
            if backfill_one(&repo, &coll, &caregiver.id, &wanted).await? {
                updated += 1;
            }
        }
        if updated > 0 {
            tracing::info!(updated, "backfilled caregiver profile paths");
        }
        Ok(updated)
    }

    /// Claims the login identifiers (lower-cased email and username) of every parent and
    /// caregiver that does not hold them yet, e.g. accounts written by the legacy backend. An
    /// identifier two legacy accounts share stays with the first and is logged with both ids.
    /// Idempotent and safe to run on several instances at once. Returns how many claims were made.
    #[tracing::instrument(skip_all)]
    pub async fn backfill_identifiers(&self) -> anyhow::Result<u64> {
        let registry = self.identifiers();
        let mut claimed = 0;
        for collection in [PARENTS, CAREGIVERS] {
            let accounts = self.handle.coll(collection)?;
            claimed += identifiers::backfill_collection(&registry, &accounts)
                .await
                .with_context(|| format!("backfilling the login identifiers of {collection}"))?;
        }
        if claimed > 0 {
            tracing::info!(claimed, "backfilled login identifiers");
        }
        Ok(claimed)
    }
}

async fn backfill_one(
    repo: &MongoCaregiverRepository,
    coll: &Collection<Document>,
    id: &UserId,
    wanted: &ProfilePath,
) -> anyhow::Result<bool> {
    let oid = codec::oid(id)?;
    for n in 1..=MAX_PATH_SUFFIX {
        let candidate = wanted.with_suffix(n);
        let path = candidate.path();
        if repo.path_taken(&path, Some(id)).await? {
            continue;
        }
        let mut filter = caregivers::missing_profile_path();
        filter.insert("_id", oid);
        // The revision is bumped so that a concurrent profile update based on the old state
        // conflicts instead of overwriting the new path.
        let update = doc! {
            "$set": {
                "citySlug": candidate.city_slug.clone(),
                "daycareSlug": candidate.daycare_slug.clone(),
                "profilePath": path,
            },
            "$inc": { codec::REVISION: 1_i64 },
        };
        match coll.update_one(filter, update).await {
            Ok(r) => return Ok(r.modified_count > 0),
            // Another instance took this path between our check and the write: try the next.
            Err(e) if error::is_duplicate(&e) => {}
            Err(e) => return Err(anyhow::Error::new(e).context("backfilling a caregiver profile path")),
        }
    }
    tracing::warn!(caregiver_id = %id, "no free profile path found");
    Ok(false)
}

/// Applies `update` to document `id` only if it is stored at revision `expected` (see
/// [`codec::revision_filter`]); `update` must set the next revision. `Ok(true)` if written,
/// `Ok(false)` if there is no such document, `Conflict` if it exists with another revision.
pub(crate) async fn update_at_revision(
    coll: &Collection<Document>,
    id: bson::oid::ObjectId,
    expected: u64,
    update: Document,
    context: &'static str,
) -> Result<bool, RepoError> {
    let result = coll.update_one(codec::revision_filter(id, expected), update).await.map_err(error::ctx(context))?;
    if result.matched_count > 0 {
        return Ok(true);
    }
    let exists = coll.find_one(doc! { "_id": id }).projection(doc! { "_id": 1 }).await.map_err(error::ctx(context))?;
    if exists.is_some() { Err(RepoError::Conflict) } else { Ok(false) }
}

pub(crate) async fn ping(handle: &DbHandle) -> Result<(), RepoError> {
    handle.db()?.run_command(doc! { "ping": 1 }).await.map(|_| ()).map_err(error::ctx("pinging the database"))
}

fn index(name: &str, keys: Document, unique: bool) -> IndexModel {
    let options = IndexOptions::builder().name(name.to_owned()).unique(unique.then_some(true)).build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// The indexes of every collection.
pub(crate) fn index_models() -> Vec<(&'static str, IndexModel)> {
    let profile_path = {
        // Partial rather than sparse: documents without a path (or with `null`) must not collide.
        let options = IndexOptions::builder()
            .name("profilePath_unique".to_owned())
            .unique(true)
            .partial_filter_expression(doc! { "profilePath": { "$type": "string" } })
            .build();
        IndexModel::builder().keys(doc! { "profilePath": 1 }).options(options).build()
    };
    vec![
        (PARENTS, index("email_unique", doc! { "email": 1 }, true)),
        (PARENTS, index("username_unique", doc! { "username": 1 }, true)),
        (PARENTS, index("createdAt", doc! { "createdAt": -1 }, false)),
        (CAREGIVERS, index("email_unique", doc! { "email": 1 }, true)),
        (CAREGIVERS, index("username_unique", doc! { "username": 1 }, true)),
        (CAREGIVERS, index("postalCode", doc! { "postalCode": 1 }, false)),
        (CAREGIVERS, index("citySlug", doc! { "citySlug": 1 }, false)),
        (CAREGIVERS, profile_path),
        (CAREGIVERS, index("legacyProfilePaths", doc! { "legacyProfilePaths": 1 }, false)),
        (CAREGIVERS, index("createdAt", doc! { "createdAt": -1 }, false)),
        (MATCHES, index("parentId_caregiverId_unique", doc! { "parentId": 1, "caregiverId": 1 }, true)),
        (MATCHES, index("createdAt", doc! { "createdAt": -1 }, false)),
        (IDENTIFIERS, index("userId", doc! { "userId": 1 }, false)),
    ]
}

pub(crate) fn same_keys(a: &Document, b: &Document) -> bool {
    let num = |v: &Bson| match v {
        Bson::Int32(i) => Some(f64::from(*i)),
        Bson::Int64(i) => Some(*i as f64),
        Bson::Double(d) => Some(*d),
        _ => None,
    };
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && (va == vb || num(va).is_some() && num(va) == num(vb)))
}

pub(crate) fn command_code(e: &mongodb::error::Error) -> Option<i32> {
    match e.kind.as_ref() {
        mongodb::error::ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

/// Escapes `text` so that it matches itself literally inside a regular expression (PCRE and
/// compatible engines). User input must never reach a `$regex` unescaped.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for ch in text.chars() {
        if matches!(
            ch,
            '\\' | '^' | '$' | '.' | '|' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}' | '-' | '/' | '#'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// `{ $regex: "^<escaped>$", $options: "i" }`: equal, ignoring case.
pub(crate) fn equals_ignoring_case(text: &str) -> Document {
    doc! { "$regex": format!("^{}$", regex_escape(text)), "$options": "i" }
}

/// `{ $regex: "<escaped>", $options: "i" }`: contains, ignoring case.
pub(crate) fn contains_ignoring_case(text: &str) -> Document {
    doc! { "$regex": regex_escape(text), "$options": "i" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_escape_neutralises_metacharacters() {
        assert_eq!(regex_escape(".*"), r"\.\*");
        assert_eq!(regex_escape("a+b(c)[d]{e}|f^g$h?i\\j"), r"a\+b\(c\)\[d\]\{e\}\|f\^g\$h\?i\\j");
        assert_eq!(regex_escape("Köln 50667"), "Köln 50667");
    }

    #[test]
    fn index_key_patterns_compare_numerically() {
        assert!(same_keys(&doc! { "a": 1, "b": -1 }, &doc! { "a": 1_i64, "b": -1.0 }));
        assert!(!same_keys(&doc! { "a": 1 }, &doc! { "a": -1 }));
        assert!(!same_keys(&doc! { "a": 1, "b": 1 }, &doc! { "b": 1, "a": 1 }));
    }
}
