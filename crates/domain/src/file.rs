//! Stored files: their keys in storage and the references profiles keep to them.

use std::fmt;

use chrono::{DateTime, Utc};

/// Where uploaded files live; decides the public URL form of a file reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageMode {
    /// An S3 bucket; files are served at `/api/files/<url-encoded key>`.
    S3,
    /// A local directory; files are served at `/uploads/<key>`.
    Local,
}

impl StorageMode {
    /// `s3` / `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::S3 => "s3",
            StorageMode::Local => "local",
        }
    }
}

/// A key in file storage, like `caregivers/logos/<uuid>.png`. Always relative, made of non-empty
/// segments without `.`/`..`, backslashes or control characters, so it can never name anything
/// outside the storage root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey(String);

/// Why a text is not a valid storage key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileKeyError {
    #[error("the file key is empty")]
    Empty,
    #[error("the file key is not a safe relative path")]
    Unsafe,
}

impl FileKey {
    /// Checks a key. Leading slashes are not stripped: an absolute path is rejected.
    pub fn parse(raw: &str) -> Result<Self, FileKeyError> {
        if raw.is_empty() {
            return Err(FileKeyError::Empty);
        }
        if raw.len() > 1024 || raw.starts_with('/') || raw.contains('\\') || raw.chars().any(char::is_control) {
            return Err(FileKeyError::Unsafe);
        }
        if raw.split('/').any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg.contains(':')) {
            return Err(FileKeyError::Unsafe);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A new key `<folder>/<uuid>.<ext>`.
    pub fn generate(folder: &str, ext: &str) -> Self {
        Self(format!("{folder}/{}.{ext}", uuid::Uuid::new_v4()))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A profile's reference to a stored file. Legacy documents sometimes hold only a URL string; then
/// only `url` (and the key derived from it, where possible) is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub key: Option<String>,
    pub url: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub uploaded_at: Option<DateTime<Utc>>,
}

impl FileRef {
    /// The storage key, if the reference names one that is safe to touch.
    pub fn file_key(&self) -> Option<FileKey> {
        self.key.as_deref().and_then(|k| FileKey::parse(k).ok())
    }

    /// `true` if both references point at the same stored file.
    pub fn same_file(&self, other: &FileRef) -> bool {
        match (&self.key, &other.key) {
            (Some(a), Some(b)) => a == b,
            _ => self.url == other.url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_the_root_are_rejected() {
        for bad in ["../x", "a/../b", "/etc/passwd", "a\\b", "a//b", "./a", "a/", "c:/x", "a\u{0}b"] {
            assert_eq!(FileKey::parse(bad), Err(FileKeyError::Unsafe), "{bad:?}");
        }
        assert_eq!(FileKey::parse(""), Err(FileKeyError::Empty));
    }

    #[test]
    fn ordinary_keys_are_accepted() {
        let k = FileKey::parse("caregivers/logos/1a2b.png").expect("valid");
        assert_eq!(k.segments().collect::<Vec<_>>(), ["caregivers", "logos", "1a2b.png"]);
    }

    #[test]
    fn generated_keys_have_folder_uuid_and_extension() {
        let k = FileKey::generate("parents/profile-images", "png");
        let s = k.as_str();
        assert!(s.starts_with("parents/profile-images/") && s.ends_with(".png"));
        assert_eq!(s.len(), "parents/profile-images/".len() + 36 + 4);
        assert!(FileKey::parse(s).is_ok());
    }
}
