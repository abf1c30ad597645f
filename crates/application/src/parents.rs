//! Parent registration and profile management.

use std::sync::Arc;

use chrono::Utc;
use domain::account::login_identifiers;
use domain::{Caller, FileRef, Parent, ParentChanges, ParentRegistration, UserId};
use ports::{CaregiverRepository, IdentifierRegistry, MatchRepository, ParentRepository, PasswordHasher, RepoError};

use crate::accounts::{Visibility, credentials_taken, release_identifiers};
use crate::errors::{ProfileError, RegisterError};
use crate::files::FileService;
use crate::uploads::{FileChange, UploadData, UploadKind};

/// Storage folder of parents' profile images.
pub const PROFILE_IMAGE_FOLDER: &str = "parents/profile-images";

/// Parents: register, read, update, delete.
#[derive(Clone)]
pub struct ParentService {
    parents: Arc<dyn ParentRepository>,
    caregivers: Arc<dyn CaregiverRepository>,
    matches: Arc<dyn MatchRepository>,
    identifiers: Arc<dyn IdentifierRegistry>,
    hasher: Arc<dyn PasswordHasher>,
    files: FileService,
}

impl std::fmt::Debug for ParentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentService").finish_non_exhaustive()
    }
}

/// How often a profile update is attempted before giving up with [`ProfileError::Conflict`] when
/// the profile keeps being changed concurrently.
pub(crate) const MAX_UPDATE_ATTEMPTS: u32 = 8;

/// A short pause before attempt `attempt + 1` of a conflicting update, growing and jittered so
/// that several requests racing for one profile do not keep colliding in lockstep.
pub(crate) async fn pause_before_retry(attempt: u32) {
    let jitter = u64::from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos()) % 20,
    );
    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt) + jitter)).await;
}

/// Whose account a change names.
pub(crate) enum Target {
    /// The caller's own.
    Own(UserId),
    /// Somebody else's (which may or may not exist).
    Other(UserId),
}

/// The account the caller wants to change: 401 without a token, 404 for a malformed id. For
/// anybody else's account the service answers 403 if that account exists and 404 if not
/// (existence is no secret: profiles are readable by id).
pub(crate) fn owned_id(caller: &Caller, raw: &str) -> Result<Target, ProfileError> {
    if !caller.is_authenticated() {
        return Err(ProfileError::Unauthorized);
    }
    let id = UserId::parse(raw).map_err(|_| ProfileError::NotFound)?;
    Ok(if caller.is(&id) { Target::Own(id) } else { Target::Other(id) })
}

/// 403 if `found` (the other account exists), else 404.
pub(crate) fn forbidden_if_found<T>(found: Option<T>) -> ProfileError {
    if found.is_some() { ProfileError::Forbidden } else { ProfileError::NotFound }
}

impl ParentService {
    /// A service over these ports.
    pub fn new(
        parents: Arc<dyn ParentRepository>,
        caregivers: Arc<dyn CaregiverRepository>,
        matches: Arc<dyn MatchRepository>,
        identifiers: Arc<dyn IdentifierRegistry>,
        hasher: Arc<dyn PasswordHasher>,
        files: FileService,
    ) -> Self {
        Self { parents, caregivers, matches, identifiers, hasher, files }
    }

    /// Registers a parent. Nothing is stored if a rule fails; an uploaded image is removed again if
    /// the account cannot be stored.
    ///
    /// Email and username are claimed in the identifier registry before anything is stored, so
    /// that a concurrent registration of a caregiver with the same email cannot succeed as well;
    /// the claims are released again if the registration fails afterwards.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, form: ParentRegistration, image: Option<UploadData>) -> Result<Parent, RegisterError> {
        let new = form.validate()?;
        let image = image.map(|i| self.files.decode(UploadKind::Image, &i)).transpose()?;
        if credentials_taken(&*self.parents, &*self.caregivers, &new.email, &new.username, None).await? {
            return Err(RegisterError::Duplicate);
        }
        let password = self.hasher.hash(&new.plain_password).await.map_err(RegisterError::Unknown)?;
        let now = Utc::now();
        let id = UserId::generate(now);
        self.identifiers.claim(&id, &login_identifiers(&new.email, &new.username)).await?;
        let profile_image = match image {
            Some(i) => match self.files.store_upload(PROFILE_IMAGE_FOLDER, i, now).await {
                Ok(r) => Some(r),
                Err(e) => {
                    release_identifiers(&*self.identifiers, &id, &[]).await;
                    return Err(e.into());
                }
            },
            None => None,
        };
        let parent = Parent {
            id,
            email: new.email,
            phone: new.phone,
            postal_code: new.postal_code,
            username: new.username,
            password,
            first_name: new.first_name,
            last_name: new.last_name,
            name: new.name,
            address: new.address,
            children_ages: new.children_ages,
            notes: new.notes,
            number_of_children: new.number_of_children,
            children: new.children,
            profile_image,
            email_notifications_enabled: new.email_notifications_enabled,
            created_at: Some(now),
            updated_at: Some(now),
            revision: 0,
        };
        if let Err(e) = self.parents.insert(&parent).await {
            self.files.delete_quietly(parent.profile_image.iter()).await;
            release_identifiers(&*self.identifiers, &parent.id, &[]).await;
            return Err(e.into());
        }
        tracing::info!(user_id = %parent.id, "parent registered");
        Ok(parent)
    }

    /// A parent's profile: the owner sees everything, other users the public part; anonymous
    /// callers are refused.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<(Parent, Visibility), ProfileError> {
        if !caller.is_authenticated() {
            return Err(ProfileError::Unauthorized);
        }
        let id = UserId::parse(id).map_err(|_| ProfileError::NotFound)?;
        let parent = self.parents.find_by_id(&id).await?.ok_or(ProfileError::NotFound)?;
        Ok((parent, Visibility::of(caller, &id)))
    }

    /// Partially updates the caller's own profile.
    ///
    /// The write only succeeds if nobody changed the profile since it was read (revision check).
    /// On a conflict the files stored by that attempt are deleted and the whole update is redone on
    /// the fresh state, up to [`MAX_UPDATE_ATTEMPTS`] times; then it fails with `Conflict`.
    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        changes: ParentChanges,
        image: FileChange,
        password: Option<String>,
    ) -> Result<Parent, ProfileError> {
        let id = match owned_id(caller, id)? {
            Target::Own(id) => id,
            Target::Other(other) => return Err(forbidden_if_found(self.parents.find_by_id(&other).await?)),
        };
        if let Some(p) = password.as_deref().filter(|p| !p.is_empty()) {
            domain::account::check_new_password(p).map_err(|_| ProfileError::WeakPassword)?;
        }
        // Whether an attempt claimed identifiers: a conflicting attempt leaves its claims for the
        // next one to settle (see `try_update`).
        let mut claimed = false;
        for attempt in 1..=MAX_UPDATE_ATTEMPTS {
            match self.try_update(&id, changes.clone(), image.clone(), password.clone(), &mut claimed).await {
                Err(ProfileError::Conflict) => {
                    tracing::info!(attempt, "parent changed concurrently during an update");
                    if attempt < MAX_UPDATE_ATTEMPTS {
                        pause_before_retry(attempt).await;
                    }
                }
                done => return done,
            }
        }
        tracing::warn!("giving up an update of a parent that keeps being changed concurrently");
        Err(ProfileError::Conflict)
    }

    /// One attempt of [`Self::update`], from loading the parent to the conditional write. Fails
    /// with `Conflict` (after deleting the files it stored) if the parent was changed since it was
    /// loaded. Changed login identifiers are claimed right before the write; afterwards the
    /// identifiers the parent no longer uses are released (on failure: the new ones).
    async fn try_update(
        &self,
        id: &UserId,
        changes: ParentChanges,
        image: FileChange,
        password: Option<String>,
        claimed: &mut bool,
    ) -> Result<Parent, ProfileError> {
        let mut parent = self.parents.find_by_id(id).await?.ok_or(ProfileError::NotFound)?;
        let credentials_change = changes.email.is_present() || changes.username.is_present();
        let old_identifiers = login_identifiers(&parent.email, &parent.username);
        parent.apply(changes)?;
        let new_identifiers = login_identifiers(&parent.email, &parent.username);
        let identifiers_change = new_identifiers != old_identifiers;
        if credentials_change
            && credentials_taken(&*self.parents, &*self.caregivers, &parent.email, &parent.username, Some(id)).await?
        {
            return Err(ProfileError::Duplicate);
        }
        let new_image = match &image {
            FileChange::Replace(data) => Some(self.files.decode(UploadKind::Image, data)?),
            _ => None,
        };
        if let Some(plain) = password.filter(|p| !p.is_empty()) {
            parent.password = self.hasher.hash(&plain).await.map_err(ProfileError::Unknown)?;
        }
        let old_image = parent.profile_image.clone();
        let mut stored: Option<FileRef> = None;
        match image {
            FileChange::Keep => {}
            FileChange::Remove => parent.profile_image = None,
            FileChange::Replace(_) => {
                if let Some(upload) = new_image {
                    let r = self.files.store_upload(PROFILE_IMAGE_FOLDER, upload, Utc::now()).await?;
                    stored = Some(r.clone());
                    parent.profile_image = Some(r);
                }
            }
        }
        parent.updated_at = Some(Utc::now());
        if identifiers_change {
            if let Err(e) = self.identifiers.claim(id, &new_identifiers).await {
                self.files.delete_quietly(stored.iter()).await;
                return Err(e.into());
            }
            *claimed = true;
        }
        match self.parents.update(&parent).await {
            Ok(true) => parent.revision += 1,
            Ok(false) => {
                self.files.delete_quietly(stored.iter()).await;
                if identifiers_change {
                    // The parent is gone: nothing of it may stay claimed.
                    release_identifiers(&*self.identifiers, id, &[]).await;
                }
                return Err(ProfileError::NotFound);
            }
            Err(e) => {
                self.files.delete_quietly(stored.iter()).await;
                // After a revision conflict another update of this account may just have claimed
                // identifiers it is about to store (perhaps the very ones this attempt claimed):
                // releasing here could strip them. The retry settles the claims instead.
                if identifiers_change && !matches!(e, RepoError::Conflict) {
                    release_identifiers(&*self.identifiers, id, &old_identifiers).await;
                }
                return Err(e.into());
            }
        }
        if identifiers_change || *claimed {
            release_identifiers(&*self.identifiers, id, &new_identifiers).await;
        }
        if let Some(old) = old_image
            && parent.profile_image.as_ref().is_none_or(|new| !new.same_file(&old))
        {
            self.files.delete_quietly([&old]).await;
        }
        Ok(parent)
    }

    /// Deletes the caller's own account, its profile image and its matches.
    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), ProfileError> {
        let id = match owned_id(caller, id)? {
            Target::Own(id) => id,
            Target::Other(other) => return Err(forbidden_if_found(self.parents.find_by_id(&other).await?)),
        };
        let parent = self.parents.find_by_id(&id).await?.ok_or(ProfileError::NotFound)?;
        if !self.parents.delete(&id).await? {
            return Err(ProfileError::NotFound);
        }
        release_identifiers(&*self.identifiers, &id, &[]).await;
        self.files.delete_quietly(parent.profile_image.iter()).await;
        if let Err(e) = self.matches.delete_for_user(&id).await {
            tracing::warn!(error = %e, "could not delete the matches of a deleted parent");
        }
        tracing::info!(user_id = %id, "parent deleted");
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use domain::{AuthClaims, PasswordHash, Patch, Role, UploadPolicy};
    use ports::{
        MockBlobStore, MockCaregiverRepository, MockIdentifierRegistry, MockMatchRepository, MockParentRepository,
        MockPasswordHasher, RepoError,
    };

    use super::*;
    use crate::files::UrlSigner;
    use crate::uploads::tests::PNG_B64;

    pub(crate) fn parent(id: &str) -> Parent {
        Parent {
            id: UserId::parse(id).unwrap(),
            email: "jana@example.org".into(),
            phone: "0151".into(),
            postal_code: "50667".into(),
            username: "jana".into(),
            password: PasswordHash::Bcrypt("$2b$...".into()),
            first_name: Some("Jana".into()),
            last_name: None,
            name: Some("Jana".into()),
            address: None,
            children_ages: None,
            notes: None,
            number_of_children: None,
            children: vec![],
            profile_image: Some(FileRef {
                key: Some("parents/profile-images/old.png".into()),
                url: "/uploads/parents/profile-images/old.png".into(),
                file_name: None,
                mime_type: None,
                size: None,
                uploaded_at: None,
            }),
            email_notifications_enabled: true,
            created_at: None,
            updated_at: None,
            revision: 0,
        }
    }

    const OWNER: &str = "65a1b2c3d4e5f60718293a01";
    const OTHER: &str = "65a1b2c3d4e5f60718293a09";

    fn caller(id: &str) -> Caller {
        Caller::User(AuthClaims {
            user_id: UserId::parse(id).unwrap(),
            role: Role::Parent,
            email: "x@example.org".into(),
        })
    }

    fn files(store: MockBlobStore) -> FileService {
        FileService::new(Arc::new(store), UploadPolicy::default(), UrlSigner::new(b"k"), None)
    }

    /// A registry that grants and releases everything.
    pub(crate) fn permissive_registry() -> MockIdentifierRegistry {
        let mut r = MockIdentifierRegistry::new();
        r.expect_claim().returning(|_, _| Ok(()));
        r.expect_release_except().returning(|_, _| Ok(()));
        r
    }

    fn service(p: MockParentRepository, store: MockBlobStore) -> ParentService {
        service_with(p, store, permissive_registry())
    }

    fn service_with(p: MockParentRepository, store: MockBlobStore, ids: MockIdentifierRegistry) -> ParentService {
        let mut m = MockMatchRepository::new();
        m.expect_delete_for_user().returning(|_| Ok(0));
        service_with_matches(p, store, ids, m)
    }

    fn service_with_matches(
        p: MockParentRepository,
        store: MockBlobStore,
        ids: MockIdentifierRegistry,
        m: MockMatchRepository,
    ) -> ParentService {
        let mut c = MockCaregiverRepository::new();
        c.expect_credentials_taken().returning(|_, _, _| Ok(false));
        let mut h = MockPasswordHasher::new();
        h.expect_hash().returning(|_| Ok(PasswordHash::Bcrypt("$new".into())));
        ParentService::new(Arc::new(p), Arc::new(c), Arc::new(m), Arc::new(ids), Arc::new(h), files(store))
    }

    fn registration(email: &str) -> ParentRegistration {
        ParentRegistration {
            email: Some(email.into()),
            phone: Some("1".into()),
            postal_code: Some("50667".into()),
            username: Some("Pia".into()),
            password: Some("passwort-1".into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn registration_claims_the_identifiers_before_inserting_and_releases_them_if_the_insert_fails() {
        let claimed: Arc<std::sync::Mutex<Option<UserId>>> = Arc::default();
        let mut seq = mockall::Sequence::new();
        let mut ids = MockIdentifierRegistry::new();
        let record = claimed.clone();
        ids.expect_claim()
            .withf(|_, identifiers| identifiers == ["pia@example.org".to_owned(), "pia".to_owned()])
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |id, _| {
                *record.lock().unwrap() = Some(id.clone());
                Ok(())
            });
        let mut p = MockParentRepository::new();
        p.expect_credentials_taken().returning(|_, _, _| Ok(false));
        let check = claimed.clone();
        p.expect_insert()
            .withf(move |parent| check.lock().unwrap().as_ref() == Some(&parent.id))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Err(RepoError::Other(anyhow::anyhow!("disk full"))));
        let check = claimed.clone();
        ids.expect_release_except()
            .withf(move |id, keep| keep.is_empty() && check.lock().unwrap().as_ref() == Some(id))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        let (store, puts, deletes) = recording_store(domain::StorageMode::Local);
        let s = service_with(p, store, ids);
        let image = UploadData { data: PNG_B64.into(), file_name: None };
        let r = s.register(registration(" Pia@Example.org"), Some(image)).await;
        assert!(matches!(r, Err(RegisterError::Unknown(_))), "{r:?}");
        assert_eq!(*deletes.lock().unwrap(), *puts.lock().unwrap(), "the stored image is removed again");
    }

    #[tokio::test]
    async fn an_identifier_claimed_by_someone_else_refuses_the_registration_before_anything_is_stored() {
        let mut ids = MockIdentifierRegistry::new();
        ids.expect_claim().times(1).returning(|_, _| Err(RepoError::Duplicate { field: Some("email".into()) }));
        ids.expect_release_except().never();
        let mut p = MockParentRepository::new();
        p.expect_credentials_taken().returning(|_, _, _| Ok(false));
        p.expect_insert().never();
        let mut store = local_store();
        store.expect_put().never();
        let s = service_with(p, store, ids);
        let image = UploadData { data: PNG_B64.into(), file_name: None };
        let r = s.register(registration("pia@example.org"), Some(image)).await;
        assert!(matches!(r, Err(RegisterError::Duplicate)), "{r:?}");
    }

    #[tokio::test]
    async fn a_new_email_is_claimed_before_the_write_and_the_old_one_released_after_it() {
        let new = || vec!["neu@example.org".to_owned(), "jana".to_owned()];
        let mut seq = mockall::Sequence::new();
        let mut ids = MockIdentifierRegistry::new();
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().returning(|_| Ok(Some(parent(OWNER))));
        p.expect_credentials_taken()
            .withf(|e, u, except| e == "neu@example.org" && u == "jana" && except.is_some_and(|i| i.as_str() == OWNER))
            .returning(|_, _, _| Ok(false));
        ids.expect_claim()
            .withf(move |id, identifiers| id.as_str() == OWNER && identifiers == new())
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        p.expect_update()
            .withf(|p| p.email == "neu@example.org")
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(true));
        ids.expect_release_except()
            .withf(move |id, keep| id.as_str() == OWNER && keep == new())
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        let s = service_with(p, local_store(), ids);
        let changes = ParentChanges { email: Patch::Set("Neu@Example.org".into()), ..Default::default() };
        let updated = s.update(&caller(OWNER), OWNER, changes, FileChange::Keep, None).await.unwrap();
        assert_eq!(updated.email, "neu@example.org");
    }

    #[tokio::test]
    async fn a_failed_write_releases_the_new_identifiers_and_unchanged_ones_claim_nothing() {
        let mut ids = MockIdentifierRegistry::new();
        ids.expect_claim().times(1).returning(|_, _| Ok(()));
        ids.expect_release_except()
            .withf(|id, keep| id.as_str() == OWNER && keep == ["jana@example.org".to_owned(), "jana".to_owned()])
            .times(1)
            .returning(|_, _| Ok(()));
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().returning(|_| Ok(Some(parent(OWNER))));
        p.expect_credentials_taken().returning(|_, _, _| Ok(false));
        p.expect_update().times(1).returning(|_| Err(RepoError::Other(anyhow::anyhow!("write failed"))));
        let s = service_with(p, local_store(), ids);
        let changes = ParentChanges { username: Patch::Set("jana2".into()), ..Default::default() };
        let r = s.update(&caller(OWNER), OWNER, changes, FileChange::Keep, None).await;
        assert!(matches!(r, Err(ProfileError::Unknown(_))), "{r:?}");

        // The same email in another case is no change of identifiers: nothing claimed or released.
        let mut ids = MockIdentifierRegistry::new();
        ids.expect_claim().never();
        ids.expect_release_except().never();
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().returning(|_| Ok(Some(parent(OWNER))));
        p.expect_credentials_taken().returning(|_, _, _| Ok(false));
        p.expect_update().times(1).returning(|_| Ok(true));
        let s = service_with(p, local_store(), ids);
        let changes = ParentChanges { email: Patch::Set("JANA@example.org".into()), ..Default::default() };
        s.update(&caller(OWNER), OWNER, changes, FileChange::Keep, None).await.unwrap();
    }

    #[tokio::test]
    async fn a_conflicting_attempt_keeps_the_claims_a_concurrent_update_may_rely_on() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Attempt 1 claims "jana2" and loses the revision check to a concurrent update that stored
        // "jana2" itself. Releasing "all but the old identifiers" then would strip the claim the
        // stored username relies on; instead attempt 2 (no identifier change left) settles them.
        let mut ids = MockIdentifierRegistry::new();
        ids.expect_claim().times(1).returning(|_, _| Ok(()));
        ids.expect_release_except()
            .withf(|id, keep| id.as_str() == OWNER && keep == ["jana@example.org".to_owned(), "jana2".to_owned()])
            .times(1)
            .returning(|_, _| Ok(()));
        let reads = Arc::new(AtomicUsize::new(0));
        let mut p = MockParentRepository::new();
        let r = reads.clone();
        p.expect_find_by_id().returning(move |_| {
            let mut stored = parent(OWNER);
            if r.fetch_add(1, Ordering::SeqCst) > 0 {
                stored.username = "jana2".into();
                stored.revision += 1;
            }
            Ok(Some(stored))
        });
        p.expect_credentials_taken().returning(|_, _, _| Ok(false));
        let writes = Arc::new(AtomicUsize::new(0));
        let w = writes.clone();
        p.expect_update().times(2).returning(move |_| {
            if w.fetch_add(1, Ordering::SeqCst) == 0 { Err(RepoError::Conflict) } else { Ok(true) }
        });
        let s = service_with(p, local_store(), ids);
        let changes = ParentChanges { username: Patch::Set("jana2".into()), ..Default::default() };
        let updated = s.update(&caller(OWNER), OWNER, changes, FileChange::Keep, None).await.unwrap();
        assert_eq!(updated.username, "jana2");
    }

    #[tokio::test]
    async fn deleting_releases_every_identifier() {
        let mut ids = MockIdentifierRegistry::new();
        ids.expect_release_except()
            .withf(|id, keep| id.as_str() == OWNER && keep.is_empty())
            .times(1)
            .returning(|_, _| Err(RepoError::Unavailable(anyhow::anyhow!("down"))));
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().returning(|_| Ok(Some(parent(OWNER))));
        p.expect_delete().times(1).returning(|_| Ok(true));
        let (store, _, _) = recording_store(domain::StorageMode::Local);
        let s = service_with(p, store, ids);
        s.delete(&caller(OWNER), OWNER).await.expect("a failed release does not fail the deletion");
    }

    fn local_store() -> MockBlobStore {
        let mut s = MockBlobStore::new();
        s.expect_mode().return_const(domain::StorageMode::Local);
        s
    }

    #[tokio::test]
    async fn another_users_update_is_forbidden_and_changes_nothing() {
        // Only lookups: no expectation of update or delete, so any write fails the test.
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().times(2).returning(|_| Ok(Some(parent(OWNER))));
        let s = service(p, local_store());
        let r = s.update(&caller(OTHER), OWNER, ParentChanges::default(), FileChange::Remove, None).await;
        assert!(matches!(r, Err(ProfileError::Forbidden)));
        let r = s.delete(&caller(OTHER), OWNER).await;
        assert!(matches!(r, Err(ProfileError::Forbidden)));
        let r = s.update(&Caller::Anonymous, OWNER, ParentChanges::default(), FileChange::Keep, None).await;
        assert!(matches!(r, Err(ProfileError::Unauthorized)));
    }

    #[tokio::test]
    async fn changing_an_account_that_does_not_exist_is_not_found_rather_than_forbidden() {
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().times(2).returning(|_| Ok(None));
        let s = service(p, local_store());
        let r = s.update(&caller(OTHER), OWNER, ParentChanges::default(), FileChange::Keep, None).await;
        assert!(matches!(r, Err(ProfileError::NotFound)));
        let r = s.delete(&caller(OTHER), OWNER).await;
        assert!(matches!(r, Err(ProfileError::NotFound)));
    }

    #[tokio::test]
    async fn a_new_image_replaces_and_deletes_the_old_one() {
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().returning(|_| Ok(Some(parent(OWNER))));
        p.expect_update()
            .withf(|p| {
                p.profile_image
                    .as_ref()
                    .is_some_and(|f| f.key.as_deref().is_some_and(|k| k.ends_with(".png") && !k.ends_with("old.png")))
            })
            .times(1)
            .returning(|_| Ok(true));
        let mut store = local_store();
        store
            .expect_put()
            .withf(|k, _, ct| k.as_str().starts_with(PROFILE_IMAGE_FOLDER) && ct == "image/png")
            .times(1)
            .returning(|_, _, _| Ok(()));
        store.expect_delete().withf(|k| k.as_str() == "parents/profile-images/old.png").times(1).returning(|_| Ok(()));
        let s = service(p, store);
        let image = FileChange::Replace(UploadData { data: PNG_B64.into(), file_name: Some("neu.png".into()) });
        let updated = s.update(&caller(OWNER), OWNER, ParentChanges::default(), image, None).await.unwrap();
        assert!(updated.profile_image.unwrap().url.starts_with("/uploads/parents/profile-images/"));
    }

    #[tokio::test]
    async fn blanking_a_required_field_fails_before_any_write() {
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().returning(|_| Ok(Some(parent(OWNER))));
        p.expect_update().never();
        let s = service(p, local_store());
        let changes = ParentChanges { postal_code: Patch::Clear, ..Default::default() };
        let r = s.update(&caller(OWNER), OWNER, changes, FileChange::Keep, None).await;
        assert!(matches!(r, Err(ProfileError::BlankRequired("postalCode"))));
    }

    #[tokio::test]
    async fn registration_refuses_taken_credentials_before_storing_files() {
        let mut p = MockParentRepository::new();
        p.expect_credentials_taken()
            .withf(|e, u, except| e == "jana@example.org" && u == "jana@example.org" && except.is_none())
            .returning(|_, _, _| Ok(true));
        p.expect_insert().never();
        let s = service(p, local_store());
        let form = ParentRegistration {
            email: Some("Jana@example.org".into()),
            phone: Some("1".into()),
            postal_code: Some("50667".into()),
            password: Some("passwort-1".into()),
            ..Default::default()
        };
        let r = s.register(form, Some(UploadData { data: PNG_B64.into(), file_name: None })).await;
        assert!(matches!(r, Err(RegisterError::Duplicate)));
    }

    #[tokio::test]
    async fn anonymous_callers_cannot_read_parents() {
        let s = service(MockParentRepository::new(), local_store());
        assert!(matches!(s.get(&Caller::Anonymous, OWNER).await, Err(ProfileError::Unauthorized)));
    }

    #[tokio::test]
    async fn deleting_removes_the_image_and_matches() {
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().returning(|_| Ok(Some(parent(OWNER))));
        p.expect_delete().times(1).returning(|_| Ok(true));
        let mut store = local_store();
        store.expect_delete().withf(|k| k.as_str() == "parents/profile-images/old.png").times(1).returning(|_| Ok(()));
        let mut m = MockMatchRepository::new();
        m.expect_delete_for_user().withf(|id| id.as_str() == OWNER).times(1).returning(|_| Ok(2));
        let s = service_with_matches(p, store, permissive_registry(), m);
        s.delete(&caller(OWNER), OWNER).await.unwrap();
    }

    /// A store that records the keys it is asked to put and to delete.
    pub(crate) fn recording_store(mode: domain::StorageMode) -> (MockBlobStore, Keys, Keys) {
        let (puts, deletes) = (Keys::default(), Keys::default());
        let mut s = MockBlobStore::new();
        s.expect_mode().return_const(mode);
        let recorded = puts.clone();
        s.expect_put().returning(move |k, _, _| {
            recorded.lock().unwrap().push(k.as_str().to_owned());
            Ok(())
        });
        let recorded = deletes.clone();
        s.expect_delete().returning(move |k| {
            recorded.lock().unwrap().push(k.as_str().to_owned());
            Ok(())
        });
        (s, puts, deletes)
    }

    pub(crate) type Keys = Arc<std::sync::Mutex<Vec<String>>>;

    #[tokio::test]
    async fn a_conflicting_update_is_redone_on_the_fresh_state_and_drops_its_first_upload() {
        let loads = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().times(2).returning(move |_| {
            // Between the two loads another request changed the notes.
            let n = loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut stored = parent(OWNER);
            stored.revision = 3 + n;
            if n > 0 {
                stored.notes = Some("N1".into());
            }
            Ok(Some(stored))
        });
        let mut seq = mockall::Sequence::new();
        p.expect_update()
            .withf(|p| p.revision == 3)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Err(ports::RepoError::Conflict));
        p.expect_update()
            .withf(|p| p.revision == 4 && p.first_name.as_deref() == Some("F1") && p.notes.as_deref() == Some("N1"))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(true));
        let (store, puts, deletes) = recording_store(domain::StorageMode::Local);
        let s = service(p, store);
        let changes = ParentChanges { first_name: Patch::Set("F1".into()), ..Default::default() };
        let image = FileChange::Replace(UploadData { data: PNG_B64.into(), file_name: Some("neu.png".into()) });
        let updated = s.update(&caller(OWNER), OWNER, changes, image, None).await.unwrap();

        let puts = puts.lock().unwrap().clone();
        assert_eq!(puts.len(), 2, "one upload per attempt: {puts:?}");
        assert_ne!(puts[0], puts[1]);
        assert_eq!(updated.profile_image.unwrap().key.as_deref(), Some(puts[1].as_str()));
        // The first attempt's upload is removed; the old image only after the successful write.
        assert_eq!(*deletes.lock().unwrap(), [puts[0].clone(), "parents/profile-images/old.png".to_owned()]);
        assert_eq!((updated.first_name.as_deref(), updated.notes.as_deref()), (Some("F1"), Some("N1")));
        assert_eq!(updated.revision, 5);
    }

    #[tokio::test]
    async fn an_update_that_keeps_conflicting_gives_up_and_leaves_no_upload_behind() {
        let attempts = MAX_UPDATE_ATTEMPTS as usize;
        let mut p = MockParentRepository::new();
        p.expect_find_by_id().times(attempts).returning(|_| Ok(Some(parent(OWNER))));
        p.expect_update().times(attempts).returning(|_| Err(ports::RepoError::Conflict));
        let (store, puts, deletes) = recording_store(domain::StorageMode::Local);
        let s = service(p, store);
        let image = FileChange::Replace(UploadData { data: PNG_B64.into(), file_name: None });
        let r = s.update(&caller(OWNER), OWNER, ParentChanges::default(), image, None).await;
        assert!(matches!(r, Err(ProfileError::Conflict)), "{r:?}");
        let puts = puts.lock().unwrap().clone();
        assert_eq!(puts.len(), attempts);
        assert_eq!(*deletes.lock().unwrap(), puts, "every upload deleted, the old image kept");
    }
}
