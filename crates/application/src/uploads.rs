//! Files uploaded inside JSON bodies as data URLs or bare base64.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use domain::{AcceptedType, UploadError, UploadPolicy};

/// An upload as the apps send it: a data URL (`data:image/png;base64,…`) or bare base64, and an
/// optional original file name.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadData {
    pub data: String,
    pub file_name: Option<String>,
}

impl std::fmt::Debug for UploadData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadData").field("len", &self.data.len()).field("file_name", &self.file_name).finish()
    }
}

/// What one file field of a PATCH asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FileChange {
    /// Absent (or the existing URL sent back): keep the stored file.
    #[default]
    Keep,
    /// `null` / `"null"`: delete the stored file.
    Remove,
    /// New content: store it and delete the old file.
    Replace(UploadData),
}

/// Which content a field accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// Images only (profile pictures, logos, galleries).
    Image,
    /// PDF only (the caregiver's concept).
    Pdf,
    /// Any accepted type: images, PDF, Word, Excel, PowerPoint (contracts, attachments).
    Document,
}

/// An upload that passed the rules, ready to store.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedUpload {
    pub bytes: Bytes,
    pub accepted: AcceptedType,
    pub file_name: Option<String>,
}

impl std::fmt::Debug for DecodedUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedUpload")
            .field("len", &self.bytes.len())
            .field("accepted", &self.accepted)
            .field("file_name", &self.file_name)
            .finish()
    }
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes and checks an upload: size first (before decoding), then base64, then the real type
/// from the content's magic bytes against `kind`. The declared type of a data URL is ignored.
pub fn decode(policy: &UploadPolicy, kind: UploadKind, upload: &UploadData) -> Result<DecodedUpload, UploadError> {
    let trimmed = upload.data.trim();
    // The scheme and media type of a data URL are case-insensitive (RFC 2397).
    let data_url = trimmed.get(..5).filter(|p| p.eq_ignore_ascii_case("data:")).map(|_| &trimmed[5..]);
    let payload = match data_url {
        Some(rest) => {
            let (meta, data) = rest.split_once(',').ok_or(UploadError::InvalidBase64)?;
            if !meta.to_ascii_lowercase().ends_with(";base64") {
                return Err(UploadError::InvalidBase64);
            }
            data
        }
        None => trimmed,
    };
    let compact: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() as u64 > policy.max_base64_len() {
        return Err(UploadError::TooLarge);
    }
    if compact.is_empty() {
        return Err(UploadError::InvalidBase64);
    }
    let bytes =
        STANDARD.decode(&compact).or_else(|_| URL_SAFE.decode(&compact)).map_err(|_| UploadError::InvalidBase64)?;
    let accepted = policy.check(crate::content_type::detect(&bytes), bytes.len() as u64)?;
    let fits = match kind {
        UploadKind::Image => domain::upload::is_image(accepted.mime_type),
        UploadKind::Pdf => accepted.mime_type == "application/pdf",
        UploadKind::Document => true,
    };
    if !fits {
        return Err(UploadError::UnsupportedType);
    }
    let file_name = upload.file_name.as_deref().map(sanitize_file_name).filter(|n| !n.is_empty());
    Ok(DecodedUpload { bytes: Bytes::from(bytes), accepted, file_name })
}

/// Longest kept file name, in characters.
const MAX_FILE_NAME_CHARS: usize = 255;

/// Keeps only the last path segment of a client-supplied name, drops control and bidirectional
/// formatting characters (`con.png\u{202e}gnp.exe` must not display as `…exe.png`) and shortens
/// long names in front of their extension.
fn sanitize_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let clean: String = last.chars().filter(|c| !c.is_control() && !bidi(*c)).collect::<String>().trim().to_owned();
    if clean.chars().count() <= MAX_FILE_NAME_CHARS {
        return clean;
    }
    let ext = clean.rsplit_once('.').map(|(_, e)| e).filter(|e| !e.is_empty() && e.chars().count() <= 10);
    match ext {
        Some(ext) => {
            let keep = MAX_FILE_NAME_CHARS - ext.chars().count() - 1;
            format!("{}.{ext}", clean.chars().take(keep).collect::<String>().trim_end())
        }
        None => clean.chars().take(MAX_FILE_NAME_CHARS).collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_controls_and_bidi_marks_and_keep_their_extension_when_shortened() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("con.png\u{202e}gnp.exe"), "con.pnggnp.exe");
        assert_eq!(sanitize_file_name("a\u{0}b\r\n.png"), "ab.png");
        let long = sanitize_file_name(&format!("{}.png", "x".repeat(5000)));
        assert_eq!(long.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(long.ends_with("x.png"), "{long}");
    }
    use crate::content_type::tests::{compound_file_with, ftyp, zip_with};

    /// A real 1×1 PNG.
    pub const PNG_B64: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    /// A minimal PDF header (enough for magic-byte detection).
    pub const PDF_B64: &str =
        "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9G";

    fn up(data: &str) -> UploadData {
        UploadData { data: data.to_owned(), file_name: Some("../../ich.png".into()) }
    }

    #[test]
    fn data_urls_and_bare_base64_decode_to_the_same_png() {
        let p = UploadPolicy::default();
        let a = decode(&p, UploadKind::Image, &up(&format!("data:image/png;base64,{PNG_B64}"))).expect("data url");
        let b = decode(&p, UploadKind::Image, &up(PNG_B64)).expect("bare");
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.accepted.extension, "png");
        assert_eq!(a.file_name.as_deref(), Some("ich.png"));
    }

    #[test]
    fn the_declared_type_is_not_trusted() {
        let p = UploadPolicy::default();
        // "MZ" executable header announced as a PNG.
        let exe = STANDARD.encode(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00");
        assert_eq!(
            decode(&p, UploadKind::Document, &up(&format!("data:image/png;base64,{exe}"))),
            Err(UploadError::UnsupportedType)
        );
    }

    #[test]
    fn invalid_base64_is_refused() {
        let p = UploadPolicy::default();
        assert_eq!(decode(&p, UploadKind::Image, &up("not base64 at all!!")), Err(UploadError::InvalidBase64));
        assert_eq!(decode(&p, UploadKind::Image, &up("data:image/png,rawtext")), Err(UploadError::InvalidBase64));
        let upper =
            decode(&p, UploadKind::Image, &up(&format!("DATA:IMAGE/PNG;BASE64,{PNG_B64}"))).expect("upper case");
        assert_eq!(upper.accepted.mime_type, "image/png");
        assert_eq!(decode(&p, UploadKind::Image, &up("")), Err(UploadError::InvalidBase64));
    }

    #[test]
    fn too_large_uploads_are_refused_before_decoding() {
        let p = UploadPolicy { max_bytes: 10 };
        assert_eq!(decode(&p, UploadKind::Image, &up(PNG_B64)), Err(UploadError::TooLarge));
    }

    #[test]
    fn kinds_restrict_the_accepted_types() {
        let p = UploadPolicy::default();
        assert_eq!(decode(&p, UploadKind::Image, &up(PDF_B64)), Err(UploadError::UnsupportedType));
        assert_eq!(decode(&p, UploadKind::Pdf, &up(PNG_B64)), Err(UploadError::UnsupportedType));
        assert!(decode(&p, UploadKind::Pdf, &up(PDF_B64)).is_ok());
        assert!(decode(&p, UploadKind::Document, &up(PDF_B64)).is_ok());
    }

    fn b64(bytes: &[u8]) -> UploadData {
        UploadData { data: STANDARD.encode(bytes), file_name: None }
    }

    #[test]
    fn an_upload_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not() {
        let png = STANDARD.decode(PNG_B64).expect("png");
        let exact = UploadPolicy { max_bytes: png.len() as u64 };
        assert!(decode(&exact, UploadKind::Image, &up(PNG_B64)).is_ok());
        let smaller = UploadPolicy { max_bytes: png.len() as u64 - 1 };
        assert_eq!(decode(&smaller, UploadKind::Image, &up(PNG_B64)), Err(UploadError::TooLarge));
    }

    #[test]
    fn image_types_beyond_the_common_ones_are_accepted_with_their_own_extension() {
        let p = UploadPolicy::default();
        let ico = [0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0x68, 4, 0, 0, 22, 0, 0, 0];
        let avif = *b"\0\0\0\x18ftypavif\0\0\0\0mif1miaf\0\0\0\x08meta";
        let jxl = [0xFF, 0x0A, 0xFA, 0x7F, 0, 0, 0, 0];
        for (bytes, mime, ext) in [
            (&ico[..], "image/vnd.microsoft.icon", "ico"),
            (&avif[..], "image/avif", "avif"),
            (&jxl[..], "image/jxl", "jxl"),
        ] {
            let d = decode(&p, UploadKind::Image, &b64(bytes)).expect(ext);
            assert_eq!((d.accepted.mime_type, d.accepted.extension), (mime, ext));
        }
    }

    #[test]
    fn office_documents_in_any_entry_order_are_stored_with_their_type_as_documents_only() {
        let p = UploadPolicy::default();
        let docx = zip_with(crate::content_type::tests::DOCX_WITH_THE_DOCUMENT_FIFTH);
        let d = decode(&p, UploadKind::Document, &b64(&docx)).expect("docx");
        assert_eq!(d.accepted.extension, "docx");
        assert_eq!(d.accepted.mime_type, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
        assert_eq!(decode(&p, UploadKind::Image, &b64(&docx)), Err(UploadError::UnsupportedType));
        assert_eq!(decode(&p, UploadKind::Pdf, &b64(&docx)), Err(UploadError::UnsupportedType));
        let xls = compound_file_with(&["Workbook"], uuid::Uuid::nil());
        assert_eq!(decode(&p, UploadKind::Document, &b64(&xls)).map(|d| d.accepted.extension), Ok("xls"));
    }

    #[test]
    fn plain_zip_archives_are_refused_even_as_documents() {
        let p = UploadPolicy::default();
        let zip = zip_with(&["[Content_Types].xml", "payload.exe"]);
        assert_eq!(decode(&p, UploadKind::Document, &b64(&zip)), Err(UploadError::UnsupportedType));
    }

    #[test]
    fn heic_photos_are_accepted_as_heic_images() {
        let p = UploadPolicy::default();
        let heic = decode(&p, UploadKind::Image, &b64(&ftyp(b"heic", &[b"mif1", b"heic"]))).expect("heic");
        assert_eq!((heic.accepted.mime_type, heic.accepted.extension), ("image/heic", "heic"));
    }

    #[test]
    fn svg_announced_as_an_image_is_refused() {
        let p = UploadPolicy::default();
        let svg = STANDARD.encode(br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#);
        let upload = up(&format!("data:image/svg+xml;base64,{svg}"));
        assert_eq!(decode(&p, UploadKind::Image, &upload), Err(UploadError::UnsupportedType));
        assert_eq!(decode(&p, UploadKind::Document, &upload), Err(UploadError::UnsupportedType));
    }
}
