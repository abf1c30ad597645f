//! Caregiver registration, public search, profile paths and profile management.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::account::login_identifiers;
use domain::caregiver::CaregiverFiles;
use domain::{
    Caller, Caregiver, CaregiverChanges, CaregiverRegistration, ContractDocument, FileRef, Opaque, ProfilePath, UserId,
    slugify,
};
use ports::{
    CaregiverFilter, CaregiverRepository, IdentifierRegistry, MatchRepository, ParentRepository, PasswordHasher,
    RepoError,
};

use crate::accounts::{Visibility, credentials_taken, release_identifiers};
use crate::errors::{ProfileError, QueryError, RegisterError};
use crate::files::{FileService, key_from_url};
use crate::parents::{MAX_UPDATE_ATTEMPTS, Target, forbidden_if_found, owned_id, pause_before_retry};
use crate::uploads::{FileChange, UploadData, UploadKind};

/// Storage folders of caregiver files.
pub mod folders {
    pub const PROFILE_IMAGES: &str = "caregivers/profile-images";
    pub const LOGOS: &str = "caregivers/logos";
    pub const CONCEPTS: &str = "caregivers/concepts";
    pub const ROOM_GALLERY: &str = "caregivers/room-gallery";
    pub const TEAM_GALLERY: &str = "caregivers/team-gallery";
    pub const CONTRACTS: &str = "caregivers/contracts";
}

/// Page size of a search that names a `page` but no `limit`.
const DEFAULT_PAGE_SIZE: u64 = 20;

/// Longest search text sent to the database.
const MAX_QUERY_CHARS: usize = 200;

/// How many `-n` suffixes are tried before giving up on a unique profile path.
const MAX_PATH_SUFFIX: u32 = 500;

/// An item of a gallery or contract list in a request: a file the profile already has (sent back
/// by URL or reference) or new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GalleryItem {
    /// An existing file, by key and/or URL. Only files the profile already holds are kept;
    /// references to anything else are dropped (a client cannot adopt someone else's file).
    Existing { key: Option<String>, url: String },
    /// New content to store.
    New(UploadData),
}

/// A contract document in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractItem {
    pub name: Option<String>,
    pub file: GalleryItem,
}

/// The file fields of a registration or PATCH. `None` lists are "not sent" (kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaregiverFileChanges {
    pub profile_image: FileChange,
    pub logo_image: FileChange,
    pub concept: FileChange,
    pub room_images: Option<Vec<GalleryItem>>,
    pub caregiver_images: Option<Vec<GalleryItem>>,
    pub contract_documents: Option<Vec<ContractItem>>,
}

/// Query of the public caregiver search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub city_slug: Option<String>,
    pub search: Option<String>,
    /// 1-based page; only with `limit`.
    pub page: Option<u64>,
    pub limit: Option<u64>,
}

/// One location suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationSuggestion {
    pub postal_code: String,
    pub city: Option<String>,
    pub daycare_name: Option<String>,
    pub location: Option<Opaque>,
}

/// The city for a postal code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityForPostalCode {
    pub city: String,
    pub city_slug: String,
    pub postal_code: String,
}

/// A profile found by path, and whether the path was a legacy one.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileByPath {
    pub caregiver: Caregiver,
    pub visibility: Visibility,
    pub requested_path: String,
    pub is_legacy_path: bool,
}

/// Caregivers: register, search, read, update, delete.
#[derive(Clone)]
pub struct CaregiverService {
    caregivers: Arc<dyn CaregiverRepository>,
    parents: Arc<dyn ParentRepository>,
    matches: Arc<dyn MatchRepository>,
    identifiers: Arc<dyn IdentifierRegistry>,
    hasher: Arc<dyn PasswordHasher>,
    files: FileService,
    featured: Option<UserId>,
}

impl std::fmt::Debug for CaregiverService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaregiverService").field("featured", &self.featured).finish_non_exhaustive()
    }
}

/// Files stored during one request, removed again if the request fails.
#[derive(Default)]
struct Staged(Vec<FileRef>);

impl CaregiverService {
    /// A service over these ports; `featured` is the caregiver shown first in searches while they
    /// have free places.
    pub fn new(
        caregivers: Arc<dyn CaregiverRepository>,
        parents: Arc<dyn ParentRepository>,
        matches: Arc<dyn MatchRepository>,
        identifiers: Arc<dyn IdentifierRegistry>,
        hasher: Arc<dyn PasswordHasher>,
        files: FileService,
        featured: Option<UserId>,
    ) -> Self {
        Self { caregivers, parents, matches, identifiers, hasher, files, featured }
    }

    /// Registers a caregiver with the uploads inside the form; slugs are derived and made unique.
    ///
    /// Email and username are claimed in the identifier registry before anything is stored, so
    /// that a concurrent registration of a parent with the same email cannot succeed as well; the
    /// claims are released again if the registration fails afterwards.
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        form: CaregiverRegistration,
        uploads: CaregiverFileChanges,
    ) -> Result<Caregiver, RegisterError> {
        let new = form.validate()?;
        self.precheck_uploads(&uploads)?;
        if credentials_taken(&*self.parents, &*self.caregivers, &new.email, &new.username, None).await? {
            return Err(RegisterError::Duplicate);
        }
        let password = self.hasher.hash(&new.plain_password).await.map_err(RegisterError::Unknown)?;
        let now = Utc::now();
        let id = UserId::generate(now);
        self.identifiers.claim(&id, &login_identifiers(&new.email, &new.username)).await?;
        let mut caregiver = Caregiver {
            id,
            email: new.email,
            phone: new.phone,
            address: new.address,
            postal_code: new.postal_code,
            username: new.username,
            password,
            details: new.details,
            files: CaregiverFiles::default(),
            city_slug: None,
            daycare_slug: None,
            profile_path: None,
            legacy_profile_paths: vec![],
            created_at: Some(now),
            updated_at: Some(now),
            revision: 0,
        };
        let mut staged = Staged::default();
        let files = match self.apply_files(&CaregiverFiles::default(), uploads, &mut staged, now).await {
            Ok(f) => f,
            Err(e) => {
                self.files.delete_quietly(staged.0.iter()).await;
                release_identifiers(&*self.identifiers, &caregiver.id, &[]).await;
                return Err(e.into());
            }
        };
        caregiver.files = files;
        let result = self.insert_with_unique_path(&mut caregiver).await;
        if let Err(e) = result {
            self.files.delete_quietly(staged.0.iter()).await;
            release_identifiers(&*self.identifiers, &caregiver.id, &[]).await;
            return Err(e);
        }
        tracing::info!(user_id = %caregiver.id, "caregiver registered");
        Ok(caregiver)
    }

    async fn insert_with_unique_path(&self, caregiver: &mut Caregiver) -> Result<(), RegisterError> {
        let wanted = caregiver.wanted_profile_path();
        let mut n = self.first_free_suffix(&wanted, None, 1).await.map_err(RegisterError::from)?;
        loop {
            caregiver.profile_path = None;
            caregiver.move_to(wanted.with_suffix(n));
            match self.caregivers.insert(caregiver).await {
                Ok(()) => return Ok(()),
                // Another registration took the same path between check and insert: next suffix.
                Err(RepoError::Duplicate { field: Some(f) }) if f.contains("profilePath") && n < MAX_PATH_SUFFIX => {
                    n = self.first_free_suffix(&wanted, None, n + 1).await.map_err(RegisterError::from)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn first_free_suffix(
        &self,
        wanted: &ProfilePath,
        except: Option<&UserId>,
        from: u32,
    ) -> Result<u32, RepoError> {
        for n in from..=MAX_PATH_SUFFIX {
            if !self.caregivers.profile_path_taken(&wanted.with_suffix(n).path(), except).await? {
                return Ok(n);
            }
        }
        Err(RepoError::Other(anyhow::anyhow!("no free profile path for {}", wanted.path())))
    }

    /// Validates every new upload before anything is stored.
    fn precheck_uploads(&self, c: &CaregiverFileChanges) -> Result<(), domain::UploadError> {
        let single =
            [(&c.profile_image, UploadKind::Image), (&c.logo_image, UploadKind::Image), (&c.concept, UploadKind::Pdf)];
        for (change, kind) in single {
            if let FileChange::Replace(d) = change {
                self.files.decode(kind, d)?;
            }
        }
        for list in [&c.room_images, &c.caregiver_images].into_iter().flatten() {
            for item in list {
                if let GalleryItem::New(d) = item {
                    self.files.decode(UploadKind::Image, d)?;
                }
            }
        }
        for item in c.contract_documents.iter().flatten() {
            if let GalleryItem::New(d) = &item.file {
                self.files.decode(UploadKind::Document, d)?;
            }
        }
        Ok(())
    }

    async fn store(
        &self,
        kind: UploadKind,
        folder: &str,
        data: &UploadData,
        staged: &mut Staged,
        now: DateTime<Utc>,
    ) -> Result<FileRef, ProfileError> {
        let decoded = self.files.decode(kind, data)?;
        let r = self.files.store_upload(folder, decoded, now).await?;
        staged.0.push(r.clone());
        Ok(r)
    }

    async fn apply_single(
        &self,
        change: FileChange,
        current: &Option<FileRef>,
        kind: UploadKind,
        folder: &str,
        staged: &mut Staged,
        now: DateTime<Utc>,
    ) -> Result<Option<FileRef>, ProfileError> {
        Ok(match change {
            FileChange::Keep => current.clone(),
            FileChange::Remove => None,
            FileChange::Replace(d) => Some(self.store(kind, folder, &d, staged, now).await?),
        })
    }

    /// The new content of a gallery: `current` if the list was not sent; otherwise the items in
    /// order, existing ones looked up in `pool` (the files of the profile they may come from, so
    /// an image can move from one gallery to the other), new ones stored.
    #[allow(clippy::too_many_arguments)]
    async fn apply_list(
        &self,
        items: Option<Vec<GalleryItem>>,
        current: &[FileRef],
        pool: &[FileRef],
        kind: UploadKind,
        folder: &str,
        staged: &mut Staged,
        now: DateTime<Utc>,
    ) -> Result<Vec<FileRef>, ProfileError> {
        let Some(items) = items else { return Ok(current.to_vec()) };
        let mut out: Vec<FileRef> = Vec::with_capacity(items.len());
        for item in items {
            let r = match item {
                GalleryItem::Existing { key, url } => match find_existing(pool, key.as_deref(), &url) {
                    Some(r) => r.clone(),
                    None => continue,
                },
                GalleryItem::New(d) => self.store(kind, folder, &d, staged, now).await?,
            };
            if !out.iter().any(|o| o.same_file(&r)) {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn apply_files(
        &self,
        current: &CaregiverFiles,
        c: CaregiverFileChanges,
        staged: &mut Staged,
        now: DateTime<Utc>,
    ) -> Result<CaregiverFiles, ProfileError> {
        let profile_image = self
            .apply_single(
                c.profile_image,
                &current.profile_image,
                UploadKind::Image,
                folders::PROFILE_IMAGES,
                staged,
                now,
            )
            .await?;
        let logo_image = self
            .apply_single(c.logo_image, &current.logo_image, UploadKind::Image, folders::LOGOS, staged, now)
            .await?;
        let concept =
            self.apply_single(c.concept, &current.concept, UploadKind::Pdf, folders::CONCEPTS, staged, now).await?;
        // Public images may move between the galleries (and a profile image or logo may be sent
        // into one); contract documents are private and never leave their list.
        let public_images: Vec<FileRef> = current
            .room_images
            .iter()
            .chain(&current.caregiver_images)
            .chain(&current.profile_image)
            .chain(&current.logo_image)
            .cloned()
            .collect();
        let room_images = self
            .apply_list(
                c.room_images,
                &current.room_images,
                &public_images,
                UploadKind::Image,
                folders::ROOM_GALLERY,
                staged,
                now,
            )
            .await?;
        let caregiver_images = self
            .apply_list(
                c.caregiver_images,
                &current.caregiver_images,
                &public_images,
                UploadKind::Image,
                folders::TEAM_GALLERY,
                staged,
                now,
            )
            .await?;
        let contract_documents = match c.contract_documents {
            None => current.contract_documents.clone(),
            Some(items) => {
                let existing: Vec<FileRef> = current.contract_documents.iter().map(|d| d.file.clone()).collect();
                let mut out: Vec<ContractDocument> = Vec::with_capacity(items.len());
                for item in items {
                    let file = match item.file {
                        GalleryItem::Existing { key, url } => match find_existing(&existing, key.as_deref(), &url) {
                            Some(r) => r.clone(),
                            None => continue,
                        },
                        GalleryItem::New(d) => {
                            self.store(UploadKind::Document, folders::CONTRACTS, &d, staged, now).await?
                        }
                    };
                    if out.iter().any(|o| o.file.same_file(&file)) {
                        continue;
                    }
                    let name = item.name.or_else(|| file.file_name.clone()).unwrap_or_else(|| "Dokument".to_owned());
                    out.push(ContractDocument { name, file });
                }
                out
            }
        };
        Ok(CaregiverFiles { profile_image, logo_image, concept, room_images, caregiver_images, contract_documents })
    }

    /// Public search, newest first; the featured caregiver (with free places) comes first.
    pub async fn search(&self, caller: &Caller, q: SearchQuery) -> Result<(Vec<Caregiver>, Visibility), QueryError> {
        // No caregiver has a city or name this long: answer without asking the database (whose
        // regex engine limits pattern length).
        let too_long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.chars().count() > MAX_QUERY_CHARS);
        if too_long(&q.search) || too_long(&q.city) || too_long(&q.city_slug) || too_long(&q.postal_code) {
            return Ok((vec![], Visibility::of_others(caller)));
        }
        // Without `page` and `limit` the full list (what the apps expect); `page` alone pages by
        // DEFAULT_PAGE_SIZE; `limit=0` counts as not given.
        let limit = q.limit.filter(|l| *l > 0).or(q.page.map(|_| DEFAULT_PAGE_SIZE));
        let (skip, limit) = match limit {
            Some(l) => {
                let l = l.min(500);
                let page = q.page.unwrap_or(1).clamp(1, 100_000);
                (Some((page - 1) * l), Some(l))
            }
            None => (None, None),
        };
        let filter = CaregiverFilter {
            postal_code: q.postal_code,
            city: q.city,
            city_slug: q.city_slug,
            search: q.search,
            skip,
            limit,
        };
        let mut list = self.caregivers.search(&filter).await?;
        if let Some(featured) = &self.featured
            && let Some(pos) = list.iter().position(|c| &c.id == featured && c.has_free_spots())
        {
            let c = list.remove(pos);
            list.insert(0, c);
        }
        Ok((list, Visibility::of_others(caller)))
    }

    /// Up to 15 distinct (postal code, city) suggestions among the 50 newest matches.
    pub async fn locations(&self, q: Option<String>) -> Result<Vec<LocationSuggestion>, QueryError> {
        if q.as_ref().is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
            return Ok(vec![]);
        }
        let filter =
            CaregiverFilter { search: q.filter(|s| !s.trim().is_empty()), limit: Some(50), ..Default::default() };
        let list = self.caregivers.search(&filter).await?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for c in list {
            if c.postal_code.is_empty() {
                continue;
            }
            if seen.insert((c.postal_code.clone(), c.details.city.clone().unwrap_or_default().to_lowercase())) {
                out.push(LocationSuggestion {
                    postal_code: c.postal_code,
                    city: c.details.city,
                    daycare_name: c.details.daycare_name,
                    location: c.details.location,
                });
                if out.len() == 15 {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The city most caregivers with this 5-digit postal code use (ties: alphabetical).
    pub async fn city_for_postal_code(&self, postal_code: &str) -> Result<CityForPostalCode, QueryError> {
        let code = postal_code.trim();
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QueryError::NotFound);
        }
        // Spellings that differ only in case ("Köln", "köln") count as one city, shown in its most
        // used spelling (ties: alphabetical).
        let mut counts: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for city in self.caregivers.cities_for_postal_code(code).await? {
            let city = city.trim().to_owned();
            if !city.is_empty() {
                *counts.entry(city.to_lowercase()).or_default().entry(city).or_default() += 1;
            }
        }
        let most_used = |m: HashMap<String, usize>| -> (usize, String) {
            let total = m.values().sum();
            let spelling = m
                .into_iter()
                .max_by(|(a, na), (b, nb)| na.cmp(nb).then_with(|| b.cmp(a)))
                .map(|(s, _)| s)
                .unwrap_or_default();
            (total, spelling)
        };
        let (_, city) = counts
            .into_values()
            .map(most_used)
            .max_by(|(na, a), (nb, b)| na.cmp(nb).then_with(|| b.cmp(a)))
            .ok_or(QueryError::NotFound)?;
        let city_slug = slugify(&city);
        Ok(CityForPostalCode { city, city_slug, postal_code: code.to_owned() })
    }

    /// A profile by its current or a legacy path.
    pub async fn by_profile_path(
        &self,
        caller: &Caller,
        city_slug: &str,
        daycare_slug: &str,
    ) -> Result<ProfileByPath, QueryError> {
        let requested = format!("{}/{}", city_slug.trim().to_lowercase(), daycare_slug.trim().to_lowercase());
        let caregiver = self.caregivers.find_by_profile_path(&requested).await?.ok_or(QueryError::NotFound)?;
        let is_legacy_path = caregiver.profile_path.as_deref() != Some(requested.as_str());
        let visibility = Visibility::of(caller, &caregiver.id);
        Ok(ProfileByPath { caregiver, visibility, requested_path: requested, is_legacy_path })
    }

    /// One caregiver profile.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<(Caregiver, Visibility), QueryError> {
        let id = UserId::parse(id).map_err(|_| QueryError::NotFound)?;
        let c = self.caregivers.find_by_id(&id).await?.ok_or(QueryError::NotFound)?;
        Ok((c, Visibility::of(caller, &id)))
    }

    /// Partially updates the caller's own profile: fields, files (new files stored, files no longer
    /// referenced deleted after the update) and slugs (old path kept as legacy path).
    ///
    /// The write only succeeds if nobody changed the profile since it was read (revision check).
    /// On a conflict the files stored by that attempt are deleted and the whole update is redone on
    /// the fresh state, up to [`MAX_UPDATE_ATTEMPTS`] times; then it fails with `Conflict`.
    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        changes: CaregiverChanges,
        file_changes: CaregiverFileChanges,
        password: Option<String>,
    ) -> Result<Caregiver, ProfileError> {
        let id = match owned_id(caller, id)? {
            Target::Own(id) => id,
            Target::Other(other) => return Err(forbidden_if_found(self.caregivers.find_by_id(&other).await?)),
        };
        if let Some(p) = password.as_deref().filter(|p| !p.is_empty()) {
            domain::account::check_new_password(p).map_err(|_| ProfileError::WeakPassword)?;
        }
        // Whether an attempt claimed identifiers: a conflicting attempt leaves its claims for the
        // next one to settle (see `try_update`).
        let mut claimed = false;
        for attempt in 1..=MAX_UPDATE_ATTEMPTS {
            match self.try_update(&id, changes.clone(), file_changes.clone(), password.clone(), &mut claimed).await {
                Err(ProfileError::Conflict) => {
                    tracing::info!(attempt, "caregiver changed concurrently during an update");
                    if attempt < MAX_UPDATE_ATTEMPTS {
                        pause_before_retry(attempt).await;
                    }
                }
                done => return done,
            }
        }
        tracing::warn!("giving up an update of a caregiver that keeps being changed concurrently");
        Err(ProfileError::Conflict)
    }

    /// One attempt of [`Self::update`], from loading the caregiver to the conditional write. Fails
    /// with `Conflict` (after deleting the files it stored) if the caregiver was changed since it
    /// was loaded. Changed login identifiers are claimed right before the write; afterwards the
    /// identifiers the caregiver no longer uses are released (on failure: the new ones).
    async fn try_update(
        &self,
        id: &UserId,
        changes: CaregiverChanges,
        file_changes: CaregiverFileChanges,
        password: Option<String>,
        claimed: &mut bool,
    ) -> Result<Caregiver, ProfileError> {
        let mut caregiver = self.caregivers.find_by_id(id).await?.ok_or(ProfileError::NotFound)?;
        let credentials_change = changes.email.is_present() || changes.username.is_present();
        let old_identifiers = login_identifiers(&caregiver.email, &caregiver.username);
        let wanted_before = caregiver.wanted_profile_path();
        caregiver.apply(changes)?;
        let new_identifiers = login_identifiers(&caregiver.email, &caregiver.username);
        let identifiers_change = new_identifiers != old_identifiers;
        self.precheck_uploads(&file_changes)?;
        if credentials_change
            && credentials_taken(&*self.parents, &*self.caregivers, &caregiver.email, &caregiver.username, Some(id))
                .await?
        {
            return Err(ProfileError::Duplicate);
        }
        if let Some(plain) = password.filter(|p| !p.is_empty()) {
            caregiver.password = self.hasher.hash(&plain).await.map_err(ProfileError::Unknown)?;
        }
        // Only a change of city, daycare name or name moves the profile: a legacy profile whose
        // stored slugs were made by other rules keeps its URL through unrelated edits.
        let wanted = caregiver.wanted_profile_path();
        let names_changed = wanted != wanted_before;
        if (names_changed || caregiver.profile_path.is_none()) && !caregiver.path_still_fits(&wanted) {
            let n = self.first_free_suffix(&wanted, Some(id), 1).await?;
            caregiver.move_to(wanted.with_suffix(n));
        }
        let now = Utc::now();
        let old_files = caregiver.files.clone();
        let mut staged = Staged::default();
        match self.apply_files(&old_files, file_changes, &mut staged, now).await {
            Ok(f) => caregiver.files = f,
            Err(e) => {
                self.files.delete_quietly(staged.0.iter()).await;
                return Err(e);
            }
        }
        caregiver.updated_at = Some(now);
        if identifiers_change {
            if let Err(e) = self.identifiers.claim(id, &new_identifiers).await {
                self.files.delete_quietly(staged.0.iter()).await;
                return Err(e.into());
            }
            *claimed = true;
        }
        let outcome = self.caregivers.update(&caregiver).await;
        match outcome {
            Ok(true) => caregiver.revision += 1,
            Ok(false) => {
                self.files.delete_quietly(staged.0.iter()).await;
                if identifiers_change {
                    // The caregiver is gone: nothing of it may stay claimed.
                    release_identifiers(&*self.identifiers, id, &[]).await;
                }
                return Err(ProfileError::NotFound);
            }
            Err(e) => {
                self.files.delete_quietly(staged.0.iter()).await;
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
        let still_used = caregiver.files.all();
        let orphaned: Vec<&FileRef> =
            old_files.all().into_iter().filter(|old| !still_used.iter().any(|n| n.same_file(old))).collect();
        self.files.delete_quietly(orphaned).await;
        Ok(caregiver)
    }

    /// Deletes the caller's own account, all its files and its matches.
    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), ProfileError> {
        let id = match owned_id(caller, id)? {
            Target::Own(id) => id,
            Target::Other(other) => return Err(forbidden_if_found(self.caregivers.find_by_id(&other).await?)),
        };
        let caregiver = self.caregivers.find_by_id(&id).await?.ok_or(ProfileError::NotFound)?;
        if !self.caregivers.delete(&id).await? {
            return Err(ProfileError::NotFound);
        }
        release_identifiers(&*self.identifiers, &id, &[]).await;
        self.files.delete_quietly(caregiver.files.all()).await;
        if let Err(e) = self.matches.delete_for_user(&id).await {
            tracing::warn!(error = %e, "could not delete the matches of a deleted caregiver");
        }
        tracing::info!(user_id = %id, "caregiver deleted");
        Ok(())
    }
}

/// The reference in `current` that a request's existing item names: by key, by URL (either served
/// form, absolute or relative, with doubled or trailing slashes), or by the bare key sent as URL.
fn find_existing<'a>(current: &'a [FileRef], key: Option<&str>, url: &str) -> Option<&'a FileRef> {
    let url_key = loose_key(url);
    let url_path = url.split('?').next().unwrap_or(url);
    current.iter().find(|r| {
        let r_key = r.key.clone().or_else(|| key_from_url(&r.url));
        (key.is_some() && r_key.as_deref() == key)
            || (url_key.is_some() && r_key == url_key)
            || (!url_path.is_empty() && r.url == url_path)
    })
}

/// The storage key a client most likely meant by `text`: a served URL as the apps got it (doubled
/// and trailing slashes tolerated) or a bare key.
fn loose_key(text: &str) -> Option<String> {
    let t = text.trim();
    let (scheme, rest) = t.split_once("://").map_or(("", t), |(s, r)| (s, r));
    let mut path = rest.to_owned();
    while path.contains("//") {
        path = path.replace("//", "/");
    }
    let path = path.trim_end_matches('/');
    let url = if scheme.is_empty() { path.to_owned() } else { format!("{scheme}://{path}") };
    if let Some(key) = key_from_url(&url) {
        return Some(key);
    }
    let bare = path.trim_start_matches('/');
    if bare.contains(['?', '#']) {
        return None;
    }
    domain::FileKey::parse(bare).ok().map(|k| k.as_str().to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use domain::caregiver::CaregiverDetails;
    use domain::{AuthClaims, PasswordHash, Patch, Role, StorageMode, UploadPolicy};
    use ports::{
        MockBlobStore, MockCaregiverRepository, MockIdentifierRegistry, MockMatchRepository, MockParentRepository,
        MockPasswordHasher,
    };

    use super::*;
    use crate::files::UrlSigner;
    use crate::uploads::tests::PNG_B64;

    const OWNER: &str = "65a1b2c3d4e5f60718293b01";

    fn fref(key: &str) -> FileRef {
        FileRef {
            key: Some(key.into()),
            url: format!("/uploads/{key}"),
            file_name: None,
            mime_type: None,
            size: None,
            uploaded_at: None,
        }
    }

    pub(crate) fn caregiver(id: &str, spots: i64) -> Caregiver {
        let mut c = Caregiver {
            id: UserId::parse(id).unwrap(),
            email: "s@example.org".into(),
            phone: "1".into(),
            address: "Weg 1".into(),
            postal_code: "50667".into(),
            username: "s".into(),
            password: PasswordHash::Bcrypt("$".into()),
            details: CaregiverDetails {
                city: Some("Köln".into()),
                daycare_name: Some("Kleine Strolche".into()),
                available_spots: spots,
                ..Default::default()
            },
            files: CaregiverFiles {
                room_images: vec![fref("caregivers/room-gallery/a.png"), fref("caregivers/room-gallery/b.png")],
                ..Default::default()
            },
            city_slug: None,
            daycare_slug: None,
            profile_path: None,
            legacy_profile_paths: vec![],
            created_at: None,
            updated_at: None,
            revision: 0,
        };
        let p = c.wanted_profile_path();
        c.move_to(p);
        c
    }

    fn caller(id: &str) -> Caller {
        Caller::User(AuthClaims { user_id: UserId::parse(id).unwrap(), role: Role::Caregiver, email: "x".into() })
    }

    fn service(c: MockCaregiverRepository, store: MockBlobStore, featured: Option<&str>) -> CaregiverService {
        service_with(c, store, featured, crate::parents::tests::permissive_registry())
    }

    fn service_with(
        c: MockCaregiverRepository,
        store: MockBlobStore,
        featured: Option<&str>,
        ids: MockIdentifierRegistry,
    ) -> CaregiverService {
        let mut m = MockMatchRepository::new();
        m.expect_delete_for_user().returning(|_| Ok(0));
        service_with_matches(c, store, featured, ids, m)
    }

    fn service_with_matches(
        c: MockCaregiverRepository,
        store: MockBlobStore,
        featured: Option<&str>,
        ids: MockIdentifierRegistry,
        m: MockMatchRepository,
    ) -> CaregiverService {
        let mut p = MockParentRepository::new();
        p.expect_credentials_taken().returning(|_, _, _| Ok(false));
        let mut h = MockPasswordHasher::new();
        h.expect_hash().returning(|_| Ok(PasswordHash::Bcrypt("$new".into())));
        let files = FileService::new(Arc::new(store), UploadPolicy::default(), UrlSigner::new(b"k"), None);
        CaregiverService::new(
            Arc::new(c),
            Arc::new(p),
            Arc::new(m),
            Arc::new(ids),
            Arc::new(h),
            files,
            featured.map(|f| UserId::parse(f).unwrap()),
        )
    }

    fn store() -> MockBlobStore {
        let mut s = MockBlobStore::new();
        s.expect_mode().return_const(StorageMode::S3);
        s
    }

    #[tokio::test]
    async fn the_featured_caregiver_with_free_places_comes_first() {
        let mut c = MockCaregiverRepository::new();
        c.expect_search().returning(|_| {
            Ok(vec![caregiver("65a1b2c3d4e5f60718293b01", 0), caregiver("65a1b2c3d4e5f60718293b02", 2)])
        });
        let s = service(c, store(), Some("65a1b2c3d4e5f60718293b02"));
        let (list, vis) = s.search(&Caller::Anonymous, SearchQuery::default()).await.unwrap();
        assert_eq!(list[0].id.as_str(), "65a1b2c3d4e5f60718293b02");
        assert_eq!(vis, Visibility::Public);
    }

    #[tokio::test]
    async fn a_featured_caregiver_without_places_keeps_its_position() {
        let mut c = MockCaregiverRepository::new();
        c.expect_search().returning(|_| {
            Ok(vec![caregiver("65a1b2c3d4e5f60718293b01", 0), caregiver("65a1b2c3d4e5f60718293b02", 0)])
        });
        let s = service(c, store(), Some("65a1b2c3d4e5f60718293b02"));
        let (list, _) = s.search(&caller(OWNER), SearchQuery::default()).await.unwrap();
        assert_eq!(list[0].id.as_str(), "65a1b2c3d4e5f60718293b01");
    }

    #[tokio::test]
    async fn the_most_used_city_wins_and_ties_go_alphabetical() {
        let mut c = MockCaregiverRepository::new();
        c.expect_cities_for_postal_code()
            .returning(|_| Ok(vec!["Köln".into(), "Bonn".into(), "Köln".into(), "Aachen".into()]));
        let s = service(c, store(), None);
        let r = s.city_for_postal_code("50667").await.unwrap();
        assert_eq!((r.city.as_str(), r.city_slug.as_str()), ("Köln", "koeln"));

        let mut c = MockCaregiverRepository::new();
        c.expect_cities_for_postal_code().returning(|_| Ok(vec!["Bonn".into(), "Aachen".into()]));
        let s = service(c, store(), None);
        assert_eq!(s.city_for_postal_code("50667").await.unwrap().city, "Aachen");
        assert!(matches!(s.city_for_postal_code("5066").await, Err(QueryError::NotFound)));
    }

    #[tokio::test]
    async fn spellings_of_one_city_that_differ_in_case_count_together() {
        let mut c = MockCaregiverRepository::new();
        c.expect_cities_for_postal_code().returning(|_| {
            Ok(vec!["Bonn".into(), "Bonn".into(), "Köln".into(), "köln".into(), "KÖLN".into(), "Köln".into()])
        });
        let s = service(c, store(), None);
        let r = s.city_for_postal_code("50667").await.unwrap();
        assert_eq!((r.city.as_str(), r.city_slug.as_str()), ("Köln", "koeln"));
    }

    #[tokio::test]
    async fn a_gallery_patch_keeps_named_files_stores_new_ones_and_deletes_the_rest() {
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().returning(|_| Ok(Some(caregiver(OWNER, 1))));
        c.expect_update()
            .withf(|c| {
                let keys: Vec<_> = c.files.room_images.iter().map(|r| r.key.clone().unwrap()).collect();
                keys.len() == 2
                    && keys[0] == "caregivers/room-gallery/b.png"
                    && keys[1].starts_with("caregivers/room-gallery/")
            })
            .times(1)
            .returning(|_| Ok(true));
        let mut st = store();
        st.expect_put().times(1).returning(|_, _, _| Ok(()));
        st.expect_delete().withf(|k| k.as_str() == "caregivers/room-gallery/a.png").times(1).returning(|_| Ok(()));
        let s = service(c, st, None);
        let files = CaregiverFileChanges {
            room_images: Some(vec![
                GalleryItem::Existing { key: None, url: "/uploads/caregivers/room-gallery/b.png".into() },
                GalleryItem::Existing { key: Some("caregivers/room-gallery/b.png".into()), url: String::new() },
                GalleryItem::Existing {
                    key: Some("parents/profile-images/someone-else.png".into()),
                    url: String::new(),
                },
                GalleryItem::New(UploadData { data: PNG_B64.into(), file_name: None }),
            ]),
            ..Default::default()
        };
        s.update(&caller(OWNER), OWNER, CaregiverChanges::default(), files, None).await.unwrap();
    }

    #[tokio::test]
    async fn an_image_moved_to_the_other_gallery_or_sent_back_as_bare_key_is_kept() {
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().returning(|_| Ok(Some(caregiver(OWNER, 1))));
        c.expect_update()
            .withf(|c| {
                let keys = |l: &[FileRef]| l.iter().map(|r| r.key.clone().unwrap()).collect::<Vec<_>>();
                keys(&c.files.room_images) == ["caregivers/room-gallery/b.png"]
                    && keys(&c.files.caregiver_images) == ["caregivers/room-gallery/a.png"]
            })
            .times(1)
            .returning(|_| Ok(true));
        let mut st = store();
        // Both files are still referenced: nothing may be deleted.
        st.expect_delete().never();
        let s = service(c, st, None);
        let files = CaregiverFileChanges {
            room_images: Some(vec![GalleryItem::Existing { key: None, url: "caregivers/room-gallery/b.png".into() }]),
            caregiver_images: Some(vec![GalleryItem::Existing {
                key: None,
                url: "/uploads//caregivers/room-gallery/a.png/".into(),
            }]),
            ..Default::default()
        };
        s.update(&caller(OWNER), OWNER, CaregiverChanges::default(), files, None).await.unwrap();
    }

    #[tokio::test]
    async fn an_unrelated_edit_keeps_a_legacy_profile_path_that_other_rules_made() {
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().returning(|_| {
            let mut legacy = caregiver(OWNER, 1);
            legacy.profile_path = Some("koeln/kita-kleine-strolche".into());
            Ok(Some(legacy))
        });
        c.expect_profile_path_taken().never();
        c.expect_update()
            .withf(|c| {
                c.profile_path.as_deref() == Some("koeln/kita-kleine-strolche") && c.legacy_profile_paths.is_empty()
            })
            .times(1)
            .returning(|_| Ok(true));
        let s = service(c, store(), None);
        let changes = CaregiverChanges {
            bio: Patch::Set("Neu".into()),
            // Whole forms send the unchanged city back.
            city: Patch::Set("Köln".into()),
            ..Default::default()
        };
        s.update(&caller(OWNER), OWNER, changes, CaregiverFileChanges::default(), None).await.unwrap();
    }

    #[tokio::test]
    async fn renaming_the_city_moves_the_profile_path() {
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().returning(|_| Ok(Some(caregiver(OWNER, 1))));
        c.expect_profile_path_taken().returning(|p, _| Ok(p == "bonn/kleine-strolche"));
        c.expect_update()
            .withf(|c| {
                c.profile_path.as_deref() == Some("bonn/kleine-strolche-2")
                    && c.legacy_profile_paths == ["koeln/kleine-strolche"]
            })
            .times(1)
            .returning(|_| Ok(true));
        let s = service(c, store(), None);
        let changes = CaregiverChanges { city: Patch::Set("Bonn".into()), ..Default::default() };
        s.update(&caller(OWNER), OWNER, changes, CaregiverFileChanges::default(), None).await.unwrap();
    }

    #[tokio::test]
    async fn registration_picks_the_next_free_suffix() {
        let mut c = MockCaregiverRepository::new();
        c.expect_credentials_taken().returning(|_, _, _| Ok(false));
        c.expect_profile_path_taken().returning(|p, _| Ok(p == "koeln/zwergenhoehle" || p == "koeln/zwergenhoehle-2"));
        c.expect_insert()
            .withf(|c| c.profile_path.as_deref() == Some("koeln/zwergenhoehle-3"))
            .times(1)
            .returning(|_| Ok(()));
        let s = service(c, store(), None);
        let form = CaregiverRegistration {
            email: Some("g@example.org".into()),
            phone: Some("1".into()),
            address: Some("Ring 3".into()),
            postal_code: Some("50823".into()),
            password: Some("passwort-1".into()),
            username: None,
            details: domain::CaregiverDetailsInput {
                city: Some("Köln".into()),
                daycare_name: Some("Zwergenhöhle".into()),
                ..Default::default()
            },
        };
        let c = s.register(form, CaregiverFileChanges::default()).await.unwrap();
        assert_eq!(c.city_slug.as_deref(), Some("koeln"));
    }

    fn registration(email: &str) -> CaregiverRegistration {
        CaregiverRegistration {
            email: Some(email.into()),
            phone: Some("1".into()),
            address: Some("Ring 3".into()),
            postal_code: Some("50823".into()),
            password: Some("passwort-1".into()),
            username: Some("EVE".into()),
            details: domain::CaregiverDetailsInput::default(),
        }
    }

    #[tokio::test]
    async fn registration_claims_before_inserting_and_a_claimed_identifier_stops_it() {
        let mut seq = mockall::Sequence::new();
        let mut ids = MockIdentifierRegistry::new();
        ids.expect_claim()
            .withf(|_, i| i == ["g@example.org".to_owned(), "eve".to_owned()])
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        let mut c = MockCaregiverRepository::new();
        c.expect_credentials_taken().returning(|_, _, _| Ok(false));
        c.expect_profile_path_taken().returning(|_, _| Ok(false));
        c.expect_insert()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Err(RepoError::Unavailable(anyhow::anyhow!("x"))));
        ids.expect_release_except()
            .withf(|_, keep| keep.is_empty())
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(()));
        let s = service_with(c, store(), None, ids);
        let r = s.register(registration("g@example.org"), CaregiverFileChanges::default()).await;
        assert!(matches!(r, Err(RegisterError::Unavailable(_))), "{r:?}");

        let mut ids = MockIdentifierRegistry::new();
        ids.expect_claim().returning(|_, _| Err(RepoError::Duplicate { field: Some("username".into()) }));
        ids.expect_release_except().never();
        let mut c = MockCaregiverRepository::new();
        c.expect_credentials_taken().returning(|_, _, _| Ok(false));
        c.expect_insert().never();
        let mut st = store();
        st.expect_put().never();
        let s = service_with(c, st, None, ids);
        let files = CaregiverFileChanges { profile_image: new_image(), ..Default::default() };
        let r = s.register(registration("g@example.org"), files).await;
        assert!(matches!(r, Err(RegisterError::Duplicate)), "{r:?}");
    }

    #[tokio::test]
    async fn deleting_a_caregiver_releases_every_identifier_and_removes_its_files_and_matches() {
        let mut ids = MockIdentifierRegistry::new();
        ids.expect_release_except()
            .withf(|id, keep| id.as_str() == OWNER && keep.is_empty())
            .times(1)
            .returning(|_, _| Ok(()));
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().returning(|_| Ok(Some(caregiver(OWNER, 1))));
        c.expect_delete().times(1).returning(|_| Ok(true));
        let (st, _, deleted) = crate::parents::tests::recording_store(StorageMode::S3);
        let mut m = MockMatchRepository::new();
        m.expect_delete_for_user().withf(|id| id.as_str() == OWNER).times(1).returning(|_| Ok(3));
        let s = service_with_matches(c, st, None, ids, m);
        let files: Vec<String> = caregiver(OWNER, 1).files.all().iter().filter_map(|f| f.key.clone()).collect();
        s.delete(&caller(OWNER), OWNER).await.unwrap();
        let mut deleted = deleted.lock().unwrap().clone();
        deleted.sort();
        let mut expected = files;
        expected.sort();
        assert_eq!(deleted, expected, "every file of the caregiver is deleted");
    }

    #[tokio::test]
    async fn an_invalid_upload_stops_the_update_before_anything_is_written() {
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().returning(|_| Ok(Some(caregiver(OWNER, 1))));
        c.expect_update().never();
        let mut st = store();
        st.expect_put().never();
        let s = service(c, st, None);
        let files = CaregiverFileChanges {
            logo_image: FileChange::Replace(UploadData { data: PNG_B64.into(), file_name: None }),
            concept: FileChange::Replace(UploadData { data: PNG_B64.into(), file_name: None }),
            ..Default::default()
        };
        let r = s.update(&caller(OWNER), OWNER, CaregiverChanges::default(), files, None).await;
        assert!(matches!(r, Err(ProfileError::Upload(domain::UploadError::UnsupportedType))));
    }

    #[tokio::test]
    async fn legacy_paths_are_flagged() {
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_profile_path().returning(|_| {
            let mut cg = caregiver(OWNER, 1);
            cg.legacy_profile_paths = vec!["koeln/sabine-muster".into()];
            Ok(Some(cg))
        });
        let s = service(c, store(), None);
        let r = s.by_profile_path(&Caller::Anonymous, "koeln", "sabine-muster").await.unwrap();
        assert!(r.is_legacy_path);
        let r = s.by_profile_path(&Caller::Anonymous, "koeln", "kleine-strolche").await.unwrap();
        assert!(!r.is_legacy_path);
    }

    fn new_image() -> FileChange {
        FileChange::Replace(UploadData { data: PNG_B64.into(), file_name: None })
    }

    #[tokio::test]
    async fn a_conflicting_update_is_redone_on_the_fresh_state_and_drops_its_first_uploads() {
        let loads = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().times(2).returning(move |_| {
            // Between the two loads another request changed the bio.
            let n = loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut stored = caregiver(OWNER, 1);
            stored.revision = n;
            if n > 0 {
                stored.details.bio = Some("neu".into());
            }
            Ok(Some(stored))
        });
        let mut seq = mockall::Sequence::new();
        c.expect_update()
            .withf(|c| c.revision == 0)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Err(RepoError::Conflict));
        c.expect_update()
            .withf(|c| c.revision == 1 && c.details.available_spots == 3 && c.details.bio.as_deref() == Some("neu"))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(true));
        let (st, puts, deletes) = crate::parents::tests::recording_store(StorageMode::S3);
        let s = service(c, st, None);
        let changes = CaregiverChanges { available_spots: Patch::Set(3), ..Default::default() };
        let files = CaregiverFileChanges { profile_image: new_image(), ..Default::default() };
        let updated = s.update(&caller(OWNER), OWNER, changes, files, None).await.unwrap();

        let puts = puts.lock().unwrap().clone();
        assert_eq!(puts.len(), 2, "one upload per attempt: {puts:?}");
        assert_eq!(updated.files.profile_image.unwrap().key.as_deref(), Some(puts[1].as_str()));
        assert_eq!(*deletes.lock().unwrap(), [puts[0].clone()]);
        assert_eq!(updated.revision, 2);
    }

    #[tokio::test]
    async fn an_update_that_keeps_conflicting_gives_up_and_leaves_no_upload_behind() {
        let attempts = crate::parents::MAX_UPDATE_ATTEMPTS as usize;
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_id().times(attempts).returning(|_| Ok(Some(caregiver(OWNER, 1))));
        c.expect_update().times(attempts).returning(|_| Err(RepoError::Conflict));
        let (st, puts, deletes) = crate::parents::tests::recording_store(StorageMode::S3);
        let s = service(c, st, None);
        let files = CaregiverFileChanges {
            logo_image: new_image(),
            room_images: Some(vec![GalleryItem::New(UploadData { data: PNG_B64.into(), file_name: None })]),
            ..Default::default()
        };
        let r = s.update(&caller(OWNER), OWNER, CaregiverChanges::default(), files, None).await;
        assert!(matches!(r, Err(ProfileError::Conflict)), "{r:?}");
        let puts = puts.lock().unwrap().clone();
        assert_eq!(puts.len(), 2 * attempts);
        assert_eq!(*deletes.lock().unwrap(), puts, "every upload deleted, the gallery kept");
    }
}
