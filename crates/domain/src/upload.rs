//! Rules for files uploaded inside JSON bodies (profile images, logos, concepts, galleries,
//! contracts): which types are accepted and how large they may be.

/// Default size limit: 25 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// An upload that passed the rules: its real content type and the file extension to store it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedType {
    pub mime_type: &'static str,
    pub extension: &'static str,
}

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The data is not valid base64 (or not a valid data URL).
    #[error("the upload is not valid base64")]
    InvalidBase64,
    /// The content is empty or not an accepted type (images, PDF, Word, Excel, PowerPoint).
    #[error("the file type is not supported")]
    UnsupportedType,
    /// The content is larger than the configured limit.
    #[error("the file exceeds the size limit")]
    TooLarge,
}

/// Content types accepted for uploads, keyed by the type sniffed from the content's magic bytes.
const ACCEPTED: &[(&str, &str)] = &[
    ("image/png", "png"),
    ("image/jpeg", "jpg"),
    ("image/gif", "gif"),
    ("image/webp", "webp"),
    ("image/bmp", "bmp"),
    ("image/tiff", "tif"),
    ("image/heif", "heif"),
    ("image/heic", "heic"),
    ("image/avif", "avif"),
    ("application/pdf", "pdf"),
    ("application/msword", "doc"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("application/vnd.ms-excel", "xls"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("application/vnd.ms-powerpoint", "ppt"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
];

/// Upload limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPolicy {
    pub max_bytes: u64,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self { max_bytes: DEFAULT_MAX_BYTES }
    }
}

impl UploadPolicy {
    /// Checks an upload of `size` bytes whose content was recognised as `sniffed` (from magic
    /// bytes; `None` when unrecognisable). The declared type is deliberately not trusted:
    /// a `.exe` announced as `image/png` is refused.
    pub fn check(&self, sniffed: Option<&str>, size: u64) -> Result<AcceptedType, UploadError> {
        if size > self.max_bytes {
            return Err(UploadError::TooLarge);
        }
        if size == 0 {
            return Err(UploadError::UnsupportedType);
        }
        let sniffed = sniffed.ok_or(UploadError::UnsupportedType)?;
        ACCEPTED
            .iter()
            .find(|(mime, _)| *mime == sniffed)
            .map(|(mime_type, extension)| AcceptedType { mime_type, extension })
            .ok_or(UploadError::UnsupportedType)
    }

    /// The largest base64 text that can still decode to an allowed size (4 chars per 3 bytes);
    /// longer input is refused before decoding.
    pub fn max_base64_len(&self) -> u64 {
        self.max_bytes.div_ceil(3) * 4 + 4
    }
}

/// Whether a content type is an image (public, subject to the attachment clean-up rules).
pub fn is_image(mime_type: &str) -> bool {
    mime_type.starts_with("image/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_pdf_and_office_documents_are_accepted() {
        let p = UploadPolicy::default();
        assert_eq!(p.check(Some("image/png"), 10).map(|t| t.extension), Ok("png"));
        assert_eq!(p.check(Some("image/jpeg"), 10).map(|t| t.extension), Ok("jpg"));
        assert_eq!(p.check(Some("application/pdf"), 10).map(|t| t.extension), Ok("pdf"));
        for office in ["application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"] {
            assert!(p.check(Some(office), 10).is_ok(), "{office}");
        }
        assert_eq!(
            p.check(Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"), 10)
                .map(|t| t.extension),
            Ok("docx")
        );
    }

    #[test]
    fn other_or_unknown_types_are_refused() {
        let p = UploadPolicy::default();
        for t in [Some("application/x-executable"), Some("application/zip"), Some("text/html"), None] {
            assert_eq!(p.check(t, 10), Err(UploadError::UnsupportedType), "{t:?}");
        }
    }

    #[test]
    fn size_limit_is_inclusive_and_empty_files_are_refused() {
        let p = UploadPolicy { max_bytes: 100 };
        assert!(p.check(Some("image/png"), 100).is_ok());
        assert_eq!(p.check(Some("image/png"), 101), Err(UploadError::TooLarge));
        assert_eq!(p.check(Some("image/png"), 0), Err(UploadError::UnsupportedType));
    }

    #[test]
    fn base64_length_bound_covers_the_limit() {
        let p = UploadPolicy { max_bytes: 3 };
        assert!(p.max_base64_len() >= 4);
    }
}
