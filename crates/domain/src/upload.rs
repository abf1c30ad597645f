//! Rules for files uploaded inside JSON bodies (profile images, logos, concepts, galleries,
//! contracts): which types are accepted and how large they may be.

/// Default size limit: 25 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// A content type recognised from a file's content (magic bytes, container structure), with the
/// file extension usual for it. Only the application's content inspection makes these; the
/// declared type of an upload never becomes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectedType {
    pub mime_type: &'static str,
    pub extension: &'static str,
}

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

/// Image types refused although they are images: SVG can carry scripts that run when the file is
/// opened from our origin.
const REFUSED_IMAGES: &[&str] = &["image/svg+xml"];

/// The accepted document types and the extension each is stored with, whatever the detector
/// suggested.
const DOCUMENTS: &[(&str, &str)] = &[
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
    /// Checks an upload of `size` bytes whose content was recognised as `detected` (`None` when
    /// unrecognisable). Accepted are every image type (`image/*`) except SVG, stored with the
    /// detected extension, and PDF, Word, Excel and PowerPoint, stored with their usual extension.
    /// The declared type is deliberately not trusted: a `.exe` announced as `image/png` is refused.
    ///
    /// Returns `TooLarge` above the limit, `UnsupportedType` for empty content, other types and
    /// images whose extension could not be part of a storage key.
    pub fn check(&self, detected: Option<DetectedType>, size: u64) -> Result<AcceptedType, UploadError> {
        if size > self.max_bytes {
            return Err(UploadError::TooLarge);
        }
        if size == 0 {
            return Err(UploadError::UnsupportedType);
        }
        let detected = detected.ok_or(UploadError::UnsupportedType)?;
        if let Some((mime_type, extension)) = DOCUMENTS.iter().find(|(mime, _)| *mime == detected.mime_type) {
            return Ok(AcceptedType { mime_type, extension });
        }
        let image = is_image(detected.mime_type)
            && !REFUSED_IMAGES.contains(&detected.mime_type)
            && is_safe_extension(detected.extension);
        if !image {
            return Err(UploadError::UnsupportedType);
        }
        Ok(AcceptedType { mime_type: detected.mime_type, extension: detected.extension })
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

/// An extension that can end a storage key `<folder>/<uuid>.<ext>` as it is: short, lower-case
/// ASCII letters and digits.
fn is_safe_extension(ext: &str) -> bool {
    (1..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(mime_type: &'static str, extension: &'static str) -> Option<DetectedType> {
        Some(DetectedType { mime_type, extension })
    }

    #[test]
    fn pdf_and_office_documents_are_accepted_with_their_usual_extension() {
        let p = UploadPolicy::default();
        for (mime, ext) in [
            ("application/pdf", "pdf"),
            ("application/msword", "doc"),
            ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
            ("application/vnd.ms-excel", "xls"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            ("application/vnd.ms-powerpoint", "ppt"),
            ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
        ] {
            // Whatever extension the detector suggests, a document keeps its usual one.
            assert_eq!(p.check(detected(mime, "bin"), 10), Ok(AcceptedType { mime_type: mime, extension: ext }));
        }
    }

    #[test]
    fn every_image_type_is_accepted_with_the_detected_extension() {
        let p = UploadPolicy::default();
        for (mime, ext) in [
            ("image/png", "png"),
            ("image/jpeg", "jpg"),
            ("image/heic", "heic"),
            ("image/heif", "heif"),
            ("image/avif", "avif"),
            ("image/jxl", "jxl"),
            ("image/vnd.microsoft.icon", "ico"),
            ("image/vnd.adobe.photoshop", "psd"),
        ] {
            assert_eq!(p.check(detected(mime, ext), 10), Ok(AcceptedType { mime_type: mime, extension: ext }));
        }
    }

    #[test]
    fn svg_is_refused_although_it_is_an_image() {
        let p = UploadPolicy::default();
        assert_eq!(p.check(detected("image/svg+xml", "svg"), 10), Err(UploadError::UnsupportedType));
    }

    #[test]
    fn images_whose_extension_cannot_end_a_key_are_refused() {
        let p = UploadPolicy::default();
        for ext in ["", "PNG", "p/g", "../x", "png.exe", "verylongext"] {
            assert_eq!(p.check(detected("image/png", ext), 10), Err(UploadError::UnsupportedType), "{ext:?}");
        }
    }

    #[test]
    fn other_or_unknown_types_are_refused() {
        let p = UploadPolicy::default();
        for t in [
            detected("application/x-executable", "elf"),
            detected("application/zip", "zip"),
            detected("application/x-ole-storage", "msi"),
            detected("text/html", "html"),
            None,
        ] {
            assert_eq!(p.check(t, 10), Err(UploadError::UnsupportedType), "{t:?}");
        }
    }

    #[test]
    fn size_limit_is_inclusive_and_empty_files_are_refused() {
        let p = UploadPolicy { max_bytes: 100 };
        assert!(p.check(detected("image/png", "png"), 100).is_ok());
        assert_eq!(p.check(detected("image/png", "png"), 101), Err(UploadError::TooLarge));
        assert_eq!(p.check(detected("image/png", "png"), 0), Err(UploadError::UnsupportedType));
    }

    #[test]
    fn base64_length_bound_admits_every_allowed_size_and_not_much_more() {
        let padded_len = |bytes: u64| bytes.div_ceil(3) * 4;
        for max_bytes in [0, 1, 2, 3, 4, 5, 6, 100, 101, 102, DEFAULT_MAX_BYTES] {
            let bound = UploadPolicy { max_bytes }.max_base64_len();
            assert!(padded_len(max_bytes) <= bound, "limit {max_bytes}: a file of the limit is refused");
            assert!(padded_len(max_bytes + 6) > bound, "limit {max_bytes}: far larger text gets decoded");
        }
    }
}
