//! Access tokens and password hashing: the `TokenService` and `PasswordHasher` ports.
//!
//! * [`JwtTokens`] issues and verifies HS256 JSON Web Tokens with the claims the apps expect
//!   (`sub` and `id` = the user id, `role`, `email`, `iat`, `exp`). Only HS256 is accepted; `alg: none`,
//!   other algorithms, forged signatures and malformed claims are `Invalid`, tokens past `exp`
//!   (plus a small leeway for clock skew) are `Expired`.
//! * [`BcryptHasher`] hashes with bcrypt on tokio's blocking pool and also checks the plain-text
//!   passwords the legacy backend left behind, in constant time.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use async_trait::async_trait;
use domain::{AuthClaims, PasswordHash, Role, UserId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ports::security::{PasswordHasher, TokenError, TokenService};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// Clock skew tolerated when checking `exp`.
const LEEWAY_SECS: u64 = 30;

/// The claims inside a token, as they travel.
#[derive(Debug, Serialize, Deserialize)]
struct WireClaims {
    sub: String,
    id: String,
    role: String,
    email: String,
    iat: u64,
    exp: u64,
}

/// HS256 token issuer and verifier.
pub struct JwtTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl fmt::Debug for JwtTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtTokens")
            .field("algorithm", &Algorithm::HS256)
            .field("ttl", &self.ttl)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl JwtTokens {
    /// A token service signing with `secret` (HS256); issued tokens live for `ttl`.
    /// Fails for an empty secret or a zero lifetime.
    pub fn new(secret: &[u8], ttl: Duration) -> anyhow::Result<Self> {
        anyhow::ensure!(!secret.is_empty(), "the token secret must not be empty");
        anyhow::ensure!(ttl.as_secs() > 0, "the token lifetime must be at least one second");
        let encoding = EncodingKey::from_secret(secret).context("token signing key")?;
        let decoding = DecodingKey::from_secret(secret).context("token verification key")?;

        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = false;
        validation.leeway = LEEWAY_SECS;

        Ok(Self { encoding, decoding, validation, ttl })
    }

    /// The configured token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs `claims` as if issued at `iat` (seconds since the epoch).
    fn issue_at(&self, claims: &AuthClaims, iat: u64) -> anyhow::Result<String> {
        let exp = iat.checked_add(self.ttl.as_secs()).context("token expiry overflows")?;
        let wire = WireClaims {
            sub: claims.user_id.as_str().to_owned(),
            id: claims.user_id.as_str().to_owned(),
            role: claims.role.as_str().to_owned(),
            email: claims.email.clone(),
            iat,
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &wire, &self.encoding).context("signing the access token")
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl TokenService for JwtTokens {
    fn issue(&self, claims: &AuthClaims) -> anyhow::Result<String> {
        self.issue_at(claims, now_secs())
    }

    fn verify(&self, token: &str) -> Result<AuthClaims, TokenError> {
        let data =
            jsonwebtoken::decode::<WireClaims>(token.trim(), &self.decoding, &self.validation).map_err(|e| match e
                .kind()
            {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        if data.header.alg != Algorithm::HS256 || claims.sub != claims.id {
            return Err(TokenError::Invalid);
        }
        let user_id = UserId::parse(&claims.sub).map_err(|_| TokenError::Invalid)?;
        let role = Role::parse(&claims.role).ok_or(TokenError::Invalid)?;
        Ok(AuthClaims { user_id, role, email: claims.email })
    }
}

/// bcrypt password hashing on tokio's blocking thread pool.
#[derive(Debug, Clone, Copy)]
pub struct BcryptHasher {
    cost: u32,
}

impl BcryptHasher {
    /// The cost for production use.
    pub const DEFAULT_COST: u32 = 10;

    /// A hasher producing hashes of the given cost (bcrypt accepts 4..=31; use
    /// [`Self::DEFAULT_COST`] or more outside tests).
    pub fn new(cost: u32) -> Self {
        Self { cost }
    }

    /// The configured cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }
}

impl Default for BcryptHasher {
    fn default() -> Self {
        Self::new(Self::DEFAULT_COST)
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, plain: &str) -> anyhow::Result<PasswordHash> {
        let plain = plain.to_owned();
        let cost = self.cost;
        let hashed = tokio::task::spawn_blocking(move || bcrypt::hash(plain, cost))
            .await
            .context("password hashing task failed")?
            .context("hashing the password")?;
        Ok(PasswordHash::Bcrypt(hashed))
    }

    async fn verify(&self, plain: &str, stored: &PasswordHash) -> anyhow::Result<bool> {
        match stored {
            PasswordHash::LegacyPlain(legacy) => Ok(bool::from(plain.as_bytes().ct_eq(legacy.as_bytes()))),
            PasswordHash::Bcrypt(hash) => {
                let plain = plain.to_owned();
                let hash = hash.clone();
                // A malformed stored hash cannot match anything: `false`, not an error.
                let ok = tokio::task::spawn_blocking(move || bcrypt::verify(plain, &hash).unwrap_or(false))
                    .await
                    .context("password verification task failed")?;
                Ok(ok)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    const SECRET: &[u8] = b"test-secret-which-is-long-enough-0123456789";
    const ID: &str = "65a1b2c3d4e5f60718293a01";

    fn tokens() -> JwtTokens {
        JwtTokens::new(SECRET, Duration::from_secs(3600)).unwrap()
    }

    fn claims() -> AuthClaims {
        AuthClaims { user_id: UserId::parse(ID).unwrap(), role: Role::Caregiver, email: "anna@example.org".into() }
    }

    fn b64_json(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn payload(exp: u64) -> serde_json::Value {
        serde_json::json!({
            "sub": ID, "id": ID, "role": "parent", "email": "a@example.org", "iat": now_secs(), "exp": exp
        })
    }

    fn sign_hs256(claims: &serde_json::Value) -> String {
        let key = EncodingKey::from_secret(SECRET).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
    }

    #[test]
    fn round_trip_keeps_the_claims() {
        let t = tokens();
        let token = t.issue(&claims()).unwrap();
        assert_eq!(t.verify(&token), Ok(claims()));
    }

    #[test]
    fn issued_token_carries_sub_id_role_email_iat_exp() {
        let t = tokens();
        let token = t.issue(&claims()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(v["sub"], ID);
        assert_eq!(v["id"], ID);
        assert_eq!(v["role"], "caregiver");
        assert_eq!(v["email"], "anna@example.org");
        let iat = v["iat"].as_u64().unwrap();
        assert_eq!(v["exp"].as_u64().unwrap(), iat + 3600);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
    }

    #[test]
    fn expired_token_is_expired() {
        let t = tokens();
        let token = t.issue_at(&claims(), now_secs() - 2 * 3600).unwrap();
        assert_eq!(t.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn token_just_past_exp_is_accepted_within_the_leeway() {
        let t = tokens();
        let token = sign_hs256(&payload(now_secs() - 5));
        assert!(t.verify(&token).is_ok());
    }

    #[test]
    fn token_signed_with_another_secret_is_invalid() {
        let other = JwtTokens::new(b"another-secret-entirely-different", Duration::from_secs(3600)).unwrap();
        let token = other.issue(&claims()).unwrap();
        assert_eq!(tokens().verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_token_is_invalid() {
        let header = b64_json(&serde_json::json!({"alg": "none", "typ": "JWT"}));
        let body = b64_json(&payload(now_secs() + 3600));
        assert_eq!(tokens().verify(&format!("{header}.{body}.")), Err(TokenError::Invalid));
        // Same with a signature copied from a genuine token.
        let genuine = tokens().issue(&claims()).unwrap();
        let sig = genuine.rsplit('.').next().unwrap();
        assert_eq!(tokens().verify(&format!("{header}.{body}.{sig}")), Err(TokenError::Invalid));
    }

    #[test]
    fn hs512_token_with_the_same_secret_is_invalid() {
        let key = EncodingKey::from_secret(SECRET).unwrap();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &payload(now_secs() + 3600), &key).unwrap();
        assert_eq!(tokens().verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn garbage_is_invalid() {
        let t = tokens();
        for junk in ["", "abc", "a.b.c", "....", "Bearer x", "eyJhbGciOiJIUzI1NiJ9..", "ü.ö.ä"] {
            assert_eq!(t.verify(junk), Err(TokenError::Invalid), "{junk:?}");
        }
    }

    #[test]
    fn tampered_payload_is_invalid() {
        let t = tokens();
        let token = t.issue(&claims()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut p = payload(now_secs() + 3600);
        p["role"] = "caregiver".into();
        parts[1] = b64_json(&p);
        assert_eq!(t.verify(&parts.join(".")), Err(TokenError::Invalid));
    }

    #[test]
    fn correctly_signed_but_bad_claims_are_invalid() {
        let t = tokens();
        let exp = now_secs() + 3600;
        let mut unknown_role = payload(exp);
        unknown_role["role"] = "admin".into();
        let mut bad_id = payload(exp);
        bad_id["sub"] = "not-an-id".into();
        bad_id["id"] = "not-an-id".into();
        let mut mismatch = payload(exp);
        mismatch["id"] = "65a1b2c3d4e5f60718293a02".into();
        let mut no_exp = payload(exp);
        no_exp.as_object_mut().unwrap().remove("exp");
        let mut no_sub = payload(exp);
        no_sub.as_object_mut().unwrap().remove("sub");
        for (name, claims) in
            [("role", unknown_role), ("id", bad_id), ("mismatch", mismatch), ("no exp", no_exp), ("no sub", no_sub)]
        {
            assert_eq!(t.verify(&sign_hs256(&claims)), Err(TokenError::Invalid), "{name}");
        }
    }

    #[test]
    fn new_rejects_an_empty_secret_and_zero_ttl() {
        assert!(JwtTokens::new(b"", Duration::from_secs(60)).is_err());
        assert!(JwtTokens::new(SECRET, Duration::ZERO).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let s = format!("{:?}", tokens());
        assert!(!s.contains("test-secret"), "{s}");
        assert!(s.contains("redacted"));
    }

    #[tokio::test]
    async fn bcrypt_hash_then_verify() {
        let h = BcryptHasher::new(4);
        let hash = h.hash("richtig-geheim").await.unwrap();
        assert!(matches!(hash, PasswordHash::Bcrypt(_)));
        // The stored form is recognised as bcrypt again.
        assert!(matches!(PasswordHash::from_stored(hash.stored().to_owned()), PasswordHash::Bcrypt(_)));
        assert!(h.verify("richtig-geheim", &hash).await.unwrap());
        assert!(!h.verify("falsch", &hash).await.unwrap());
        assert!(!h.verify("", &hash).await.unwrap());
    }

    #[tokio::test]
    async fn verifies_hashes_made_by_the_legacy_backend() {
        // A `$2a$` hash, the prefix the legacy backend (bcryptjs) wrote.
        let h = BcryptHasher::default();
        let legacy =
            bcrypt::hash_with_salt("passwort123", 4, [7u8; 16]).unwrap().format_for_version(bcrypt::Version::TwoA);
        let stored = PasswordHash::from_stored(legacy);
        assert!(matches!(stored, PasswordHash::Bcrypt(_)));
        assert!(h.verify("passwort123", &stored).await.unwrap());
        assert!(!h.verify("passwort124", &stored).await.unwrap());
    }

    #[tokio::test]
    async fn legacy_plain_text_matches_exactly() {
        let h = BcryptHasher::new(4);
        let stored = PasswordHash::LegacyPlain("klartext-passwort-1".into());
        assert!(h.verify("klartext-passwort-1", &stored).await.unwrap());
        assert!(!h.verify("klartext-passwort-2", &stored).await.unwrap());
        assert!(!h.verify("klartext-passwort-", &stored).await.unwrap());
        assert!(!h.verify("", &stored).await.unwrap());
    }

    #[tokio::test]
    async fn malformed_bcrypt_hash_verifies_false() {
        let h = BcryptHasher::new(4);
        let broken = PasswordHash::Bcrypt(format!("$2b$99${}", "x".repeat(53)));
        assert!(!h.verify("anything", &broken).await.unwrap());
        let short = PasswordHash::Bcrypt("$2b$10$short".into());
        assert!(!h.verify("anything", &short).await.unwrap());
    }

    #[tokio::test]
    async fn invalid_cost_is_an_error_not_a_panic() {
        assert!(BcryptHasher::new(3).hash("x").await.is_err());
    }
}
