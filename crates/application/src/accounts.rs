//! Logging in, the caller's own account, and looking up any account by id.

use std::sync::Arc;

use domain::{AuthClaims, Caller, Caregiver, Parent, PasswordHash, Role, UserId};
use ports::{CaregiverRepository, IdentifierRegistry, ParentRepository, PasswordHasher, RepoError, TokenService};

use crate::errors::{LoginError, ProfileError};

/// A parent or caregiver account.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // short-lived, one per request
pub enum Account {
    Parent(Parent),
    Caregiver(Caregiver),
}

impl Account {
    /// The account's id.
    pub fn id(&self) -> &UserId {
        match self {
            Account::Parent(p) => &p.id,
            Account::Caregiver(c) => &c.id,
        }
    }

    /// The account's role.
    pub fn role(&self) -> Role {
        match self {
            Account::Parent(_) => Role::Parent,
            Account::Caregiver(_) => Role::Caregiver,
        }
    }

    /// The account's email.
    pub fn email(&self) -> &str {
        match self {
            Account::Parent(p) => &p.email,
            Account::Caregiver(c) => &c.email,
        }
    }

    fn password(&self) -> &PasswordHash {
        match self {
            Account::Parent(p) => &p.password,
            Account::Caregiver(c) => &c.password,
        }
    }

    /// The claims a token for this account carries.
    pub fn claims(&self) -> AuthClaims {
        AuthClaims { user_id: self.id().clone(), role: self.role(), email: self.email().to_owned() }
    }
}

/// How much of a profile the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The account itself: everything but the password.
    Owner,
    /// A logged-in parent (may see caregivers' contact data and contract documents).
    Parent,
    /// Another logged-in user (a caregiver looking at another caregiver: contact data only).
    Member,
    /// Nobody logged in.
    Public,
}

impl Visibility {
    /// The visibility of account `id` for `caller`.
    pub fn of(caller: &Caller, id: &UserId) -> Self {
        match caller {
            Caller::User(c) if &c.user_id == id => Visibility::Owner,
            other => Self::of_others(other),
        }
    }

    /// The visibility of other people's accounts for `caller`.
    pub fn of_others(caller: &Caller) -> Self {
        match caller {
            Caller::User(c) if c.role == Role::Parent => Visibility::Parent,
            Caller::User(_) => Visibility::Member,
            Caller::Anonymous => Visibility::Public,
        }
    }

    /// `true` for anybody logged in.
    pub fn is_authenticated(self) -> bool {
        self != Visibility::Public
    }
}

/// Login and account lookups across both roles.
#[derive(Clone)]
pub struct AccountService {
    parents: Arc<dyn ParentRepository>,
    caregivers: Arc<dyn CaregiverRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    /// A hash made with the configured hasher, checked when no account matches so that "unknown
    /// user" and "wrong password" take the same time (whatever the configured cost).
    dummy_hash: Arc<std::sync::OnceLock<PasswordHash>>,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

impl AccountService {
    /// A service over these ports.
    pub fn new(
        parents: Arc<dyn ParentRepository>,
        caregivers: Arc<dyn CaregiverRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
    ) -> Self {
        Self { parents, caregivers, hasher, tokens, dummy_hash: Arc::default() }
    }

    /// Logs in by email (case-insensitive) or username. A matching legacy plain-text password is
    /// replaced by a bcrypt hash in the same step. Returns the account and a fresh token.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, identifier: &str, password: &str) -> Result<(Account, String), LoginError> {
        let identifier = identifier.trim();
        if identifier.is_empty() || password.is_empty() {
            return Err(LoginError::MissingCredentials);
        }
        if identifier.chars().count() > domain::account::MAX_EMAIL_LEN {
            // No account can have such an identifier; don't send it to the database.
            self.burn_time(password).await;
            return Err(LoginError::InvalidCredentials);
        }
        // Legacy data may hold a parent and a caregiver whose identifiers differ only in case
        // ("tom" and "Tom"): the password decides which of them is logging in.
        let mut candidates: Vec<Account> = Vec::with_capacity(2);
        candidates.extend(self.parents.find_by_login(identifier).await?.map(Account::Parent));
        candidates.extend(self.caregivers.find_by_login(identifier).await?.map(Account::Caregiver));
        if candidates.is_empty() {
            self.burn_time(password).await;
            return Err(LoginError::InvalidCredentials);
        }
        let mut found = None;
        for candidate in candidates {
            if self.hasher.verify(password, candidate.password()).await.map_err(LoginError::Unknown)? {
                found = Some(candidate);
                break;
            }
            tracing::info!(user_id = %candidate.id(), "login refused: wrong password");
        }
        let Some(account) = found else { return Err(LoginError::InvalidCredentials) };
        if matches!(account.password(), PasswordHash::LegacyPlain(_)) {
            let hash = self.hasher.hash(password).await.map_err(LoginError::Unknown)?;
            match &account {
                Account::Parent(p) => self.parents.set_password(&p.id, &hash).await?,
                Account::Caregiver(c) => self.caregivers.set_password(&c.id, &hash).await?,
            }
            tracing::info!(user_id = %account.id(), "legacy plain-text password upgraded to bcrypt");
        }
        let token = self.tokens.issue(&account.claims()).map_err(LoginError::Unknown)?;
        tracing::info!(user_id = %account.id(), role = account.role().as_str(), "login");
        Ok((account, token))
    }

    /// Spends the time of one password check against a hash of the configured cost.
    async fn burn_time(&self, password: &str) {
        let dummy = match self.dummy_hash.get() {
            Some(h) => h.clone(),
            None => match self.hasher.hash("wimmelwelt-timing-equaliser").await {
                Ok(h) => self.dummy_hash.get_or_init(|| h).clone(),
                Err(_) => return,
            },
        };
        let _ = self.hasher.verify(password, &dummy).await;
    }

    /// The caller behind a verified token, if that account still exists: a token of a deleted
    /// account opens nothing. `Ok(None)` if the account is gone.
    pub async fn authenticate(&self, claims: AuthClaims) -> Result<Option<AuthClaims>, ProfileError> {
        let exists = match claims.role {
            Role::Parent => self.parents.find_by_id(&claims.user_id).await?.is_some(),
            Role::Caregiver => self.caregivers.find_by_id(&claims.user_id).await?.is_some(),
        };
        Ok(exists.then_some(claims))
    }

    /// The caller's own account with a fresh token. `NotFound` if the account was deleted.
    pub async fn me(&self, caller: &Caller) -> Result<(Account, String), ProfileError> {
        let Caller::User(claims) = caller else { return Err(ProfileError::Unauthorized) };
        let account = self.find(&claims.user_id, Some(claims.role)).await?.ok_or(ProfileError::NotFound)?;
        let token = self.tokens.issue(&account.claims()).map_err(ProfileError::Unknown)?;
        Ok((account, token))
    }

    /// Any account by id, for a logged-in caller, with what the caller may see of it.
    pub async fn user(&self, caller: &Caller, id: &str) -> Result<(Account, Visibility), ProfileError> {
        if !caller.is_authenticated() {
            return Err(ProfileError::Unauthorized);
        }
        let id = UserId::parse(id).map_err(|_| ProfileError::NotFound)?;
        let account = self.find(&id, None).await?.ok_or(ProfileError::NotFound)?;
        Ok((account, Visibility::of(caller, &id)))
    }

    /// Finds an account in the collection of `role_hint` first, then in the other.
    async fn find(&self, id: &UserId, role_hint: Option<Role>) -> Result<Option<Account>, RepoError> {
        if role_hint != Some(Role::Caregiver)
            && let Some(p) = self.parents.find_by_id(id).await?
        {
            return Ok(Some(Account::Parent(p)));
        }
        if let Some(c) = self.caregivers.find_by_id(id).await? {
            return Ok(Some(Account::Caregiver(c)));
        }
        if role_hint == Some(Role::Caregiver) {
            return Ok(self.parents.find_by_id(id).await?.map(Account::Parent));
        }
        Ok(None)
    }

    /// Tokens (used by handlers that must issue one).
    pub fn tokens(&self) -> &Arc<dyn TokenService> {
        &self.tokens
    }
}

/// `true` if a parent or a caregiver (other than `except`) already uses this email or username.
pub(crate) async fn credentials_taken(
    parents: &dyn ParentRepository,
    caregivers: &dyn CaregiverRepository,
    email: &str,
    username: &str,
    except: Option<&UserId>,
) -> Result<bool, RepoError> {
    Ok(parents.credentials_taken(email, username, except).await?
        || caregivers.credentials_taken(email, username, except).await?)
}

/// Releases the login identifiers `owner` holds except `keep`. Best effort: a failure is logged
/// and the claims stay until the account changes or releases them again.
pub(crate) async fn release_identifiers(registry: &dyn IdentifierRegistry, owner: &UserId, keep: &[String]) {
    if let Err(e) = registry.release_except(owner, keep).await {
        tracing::warn!(user_id = %owner, error = %e, "could not release login identifiers");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use mockall::predicate::*;
    use ports::{MockCaregiverRepository, MockParentRepository, MockPasswordHasher, MockTokenService};

    use super::*;
    use crate::parents::tests::parent;

    fn service(p: MockParentRepository, c: MockCaregiverRepository, h: MockPasswordHasher) -> AccountService {
        let mut t = MockTokenService::new();
        t.expect_issue().returning(|c| Ok(format!("token-for-{}", c.user_id)));
        AccountService::new(Arc::new(p), Arc::new(c), Arc::new(h), Arc::new(t))
    }

    #[tokio::test]
    async fn a_legacy_plain_password_is_upgraded_on_login() {
        let mut p = MockParentRepository::new();
        let mut stored = parent("65a1b2c3d4e5f60718293a02");
        stored.password = PasswordHash::LegacyPlain("klartext".into());
        p.expect_find_by_login().with(eq("tomalt")).returning(move |_| Ok(Some(stored.clone())));
        p.expect_set_password()
            .withf(|id, h| {
                id.as_str() == "65a1b2c3d4e5f60718293a02" && matches!(h, PasswordHash::Bcrypt(s) if s == "$hash")
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let mut h = MockPasswordHasher::new();
        h.expect_verify().returning(|plain, stored| Ok(stored.stored() == plain));
        h.expect_hash().returning(|_| Ok(PasswordHash::Bcrypt("$hash".into())));
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_login().returning(|_| Ok(None));
        let (account, token) = service(p, c, h).login("tomalt", "klartext").await.unwrap();
        assert_eq!(account.role(), Role::Parent);
        assert_eq!(token, "token-for-65a1b2c3d4e5f60718293a02");
    }

    #[tokio::test]
    async fn the_password_tells_a_parent_and_a_caregiver_with_look_alike_identifiers_apart() {
        // Legacy data: parent "tom" and caregiver "Tom" both match "Tom" ignoring case.
        let mut p = MockParentRepository::new();
        p.expect_find_by_login().returning(|_| {
            let mut parent = parent("65a1b2c3d4e5f60718293a02");
            parent.password = PasswordHash::Bcrypt("eltern-passwort".into());
            Ok(Some(parent))
        });
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_login().returning(|_| {
            let mut caregiver = crate::caregivers::tests::caregiver("65a1b2c3d4e5f60718293b01", 1);
            caregiver.password = PasswordHash::Bcrypt("tagespflege-passwort".into());
            Ok(Some(caregiver))
        });
        let mut h = MockPasswordHasher::new();
        h.expect_verify().returning(|plain, stored| Ok(stored.stored() == plain));
        let s = service(p, c, h);
        let (account, _) = s.login("Tom", "tagespflege-passwort").await.unwrap();
        assert_eq!(account.role(), Role::Caregiver);
        let (account, _) = s.login("Tom", "eltern-passwort").await.unwrap();
        assert_eq!(account.role(), Role::Parent);
        assert!(matches!(s.login("Tom", "falsch").await, Err(LoginError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn unknown_identifier_and_wrong_password_look_the_same() {
        let mut p = MockParentRepository::new();
        p.expect_find_by_login().returning(|i| Ok((i == "jana").then(|| parent("65a1b2c3d4e5f60718293a01"))));
        let mut c = MockCaregiverRepository::new();
        c.expect_find_by_login().returning(|_| Ok(None));
        let mut h = MockPasswordHasher::new();
        h.expect_verify().times(2).returning(|_, _| Ok(false));
        h.expect_hash().times(1).returning(|_| Ok(PasswordHash::Bcrypt("$dummy".into())));
        let s = service(p, c, h);
        assert!(matches!(s.login("nobody", "x").await, Err(LoginError::InvalidCredentials)));
        assert!(matches!(s.login("jana", "wrong").await, Err(LoginError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn missing_credentials_are_refused_without_a_lookup() {
        let s = service(MockParentRepository::new(), MockCaregiverRepository::new(), MockPasswordHasher::new());
        assert!(matches!(s.login(" ", "x").await, Err(LoginError::MissingCredentials)));
        assert!(matches!(s.login("a", "").await, Err(LoginError::MissingCredentials)));
    }

    #[tokio::test]
    async fn user_lookup_requires_a_token() {
        let s = service(MockParentRepository::new(), MockCaregiverRepository::new(), MockPasswordHasher::new());
        assert!(matches!(
            s.user(&Caller::Anonymous, "65a1b2c3d4e5f60718293a01").await,
            Err(ProfileError::Unauthorized)
        ));
    }
}
