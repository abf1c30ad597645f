//! What an uploaded file really is, judged from its content, never from its declared type.
//!
//! Magic bytes (the `infer` crate) decide for most types. Two containers need a closer look,
//! because their magic bytes are the same for very different content:
//!
//! - **ZIP**: Word, Excel and PowerPoint files (`.docx/.xlsx/.pptx`) are ZIP archives. `infer`
//!   only looks at the first few local headers, so a valid document whose entries come in another
//!   order is reported as a plain ZIP. The archive's central directory (its list of entry names)
//!   decides instead.
//! - **OLE2 compound files**: legacy `.doc/.xls/.ppt`, but also installers (`.msi`). `infer` goes
//!   by the root storage's class id, which not every writer sets; the names of the root streams
//!   decide first.

use std::io::Cursor;

use domain::DetectedType;

const HEIF: &str = "image/heif";

const ZIP: DetectedType = DetectedType { mime_type: "application/zip", extension: "zip" };
const OLE_STORAGE: DetectedType = DetectedType { mime_type: "application/x-ole-storage", extension: "msi" };

const DOC: DetectedType = DetectedType { mime_type: "application/msword", extension: "doc" };
const XLS: DetectedType = DetectedType { mime_type: "application/vnd.ms-excel", extension: "xls" };
const PPT: DetectedType = DetectedType { mime_type: "application/vnd.ms-powerpoint", extension: "ppt" };
const DOCX: DetectedType = DetectedType {
    mime_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    extension: "docx",
};
const XLSX: DetectedType =
    DetectedType { mime_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", extension: "xlsx" };
const PPTX: DetectedType = DetectedType {
    mime_type: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    extension: "pptx",
};
const HEIC: DetectedType = DetectedType { mime_type: "image/heic", extension: "heic" };

/// The type of `bytes` as far as the content shows it; `None` if it is not recognisable.
/// A ZIP archive that is no Office document is `application/zip`, a compound file that is no
/// legacy Office document `application/x-ole-storage`.
pub fn detect(bytes: &[u8]) -> Option<DetectedType> {
    let sniffed = infer::get(bytes)?;
    let by_magic = DetectedType { mime_type: sniffed.mime_type(), extension: sniffed.extension() };
    let is = |types: &[DetectedType]| types.iter().any(|t| t.mime_type == by_magic.mime_type);
    Some(if by_magic.mime_type == ZIP.mime_type || is(&[DOCX, XLSX, PPTX]) {
        // The listing is authoritative: infer's guess from the first entries does not count, and
        // an archive whose listing cannot be read is no document an Office application wrote.
        ooxml_kind(bytes).unwrap_or(ZIP)
    } else if by_magic.mime_type == OLE_STORAGE.mime_type || is(&[DOC, XLS, PPT]) {
        // Stream names first; the class id (infer's answer) when they are inconclusive.
        ole_kind(bytes).unwrap_or(by_magic)
    } else if by_magic.mime_type == HEIF {
        heif_kind(bytes).unwrap_or(by_magic)
    } else {
        by_magic
    })
}

/// The most entries a ZIP may list to be looked at as an Office file.
const MAX_ZIP_ENTRIES: u16 = 10_000;

/// The entry count in a ZIP's end-of-central-directory record (`None` without one). A ZIP64
/// archive says `0xFFFF` here, which is over the limit as well.
fn zip_entry_count(bytes: &[u8]) -> Option<u16> {
    const EOCD: &[u8] = b"PK\x05\x06";
    // The record (22 bytes) ends the file, after a comment of at most 65,535 bytes.
    let from = bytes.len().saturating_sub(22 + 65_535);
    let at = bytes[from..].windows(EOCD.len()).rposition(|w| w == EOCD)? + from;
    let count = bytes.get(at + 10..at + 12)?;
    Some(u16::from_le_bytes([count[0], count[1]]))
}

/// The Office Open XML kind of a ZIP archive by its entry names: it needs `[Content_Types].xml`
/// and exactly one of the `word/`, `xl/`, `ppt/` folders; `None` if it has not, or if the archive's
/// listing cannot be read.
fn ooxml_kind(bytes: &[u8]) -> Option<DetectedType> {
    // Reading the listing costs memory per entry: a 25 MiB upload (anonymous, at registration)
    // could list half a million. Office files have a few dozen to a few thousand.
    if zip_entry_count(bytes).is_none_or(|n| n > MAX_ZIP_ENTRIES) {
        return None;
    }
    // Only the central directory is read; no entry is decompressed.
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut content_types = false;
    let (mut word, mut xl, mut ppt) = (false, false, false);
    for name in archive.file_names_raw() {
        content_types |= name == b"[Content_Types].xml";
        word |= name.starts_with(b"word/");
        xl |= name.starts_with(b"xl/");
        ppt |= name.starts_with(b"ppt/");
    }
    if !content_types {
        return None;
    }
    match (word, xl, ppt) {
        (true, false, false) => Some(DOCX),
        (false, true, false) => Some(XLSX),
        (false, false, true) => Some(PPTX),
        // No Office application writes an archive with none or several of them.
        _ => None,
    }
}

/// The legacy Office kind of an OLE2 compound file by the streams in its root storage
/// (`WordDocument`, `Workbook`/`Book`, `PowerPoint Document`); `None` if unreadable, none or
/// several of them.
fn ole_kind(bytes: &[u8]) -> Option<DetectedType> {
    let file = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
    let (mut doc, mut xls, mut ppt) = (false, false, false);
    for entry in file.read_root_storage().filter(|e| e.is_stream()) {
        match entry.name() {
            "WordDocument" => doc = true,
            "Workbook" | "Book" => xls = true,
            "PowerPoint Document" => ppt = true,
            _ => {}
        }
    }
    match (doc, xls, ppt) {
        (true, false, false) => Some(DOC),
        (false, true, false) => Some(XLS),
        (false, false, true) => Some(PPT),
        _ => None,
    }
}

/// HEIF files whose major brand says HEVC-coded (what phones write) are HEIC: `image/heic`,
/// stored as `.heic`. Others stay `image/heif`.
fn heif_kind(bytes: &[u8]) -> Option<DetectedType> {
    let major_brand = bytes.get(8..12)?;
    [b"heic", b"heix", b"heim", b"heis"].iter().any(|b| major_brand == *b).then_some(HEIC)
}

#[cfg(test)]
pub(crate) mod tests {
    /// The entries of a Word file whose detection by `infer` (3rd/4th entry) fails.
    pub(crate) const DOCX_WITH_THE_DOCUMENT_FIFTH: &[&str] = &[
        "[Content_Types].xml",
        "_rels/.rels",
        "docProps/app.xml",
        "docProps/core.xml",
        "word/document.xml",
        "word/styles.xml",
    ];

    use std::io::Write as _;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A ZIP archive with these entries (each holding a little XML), in this order.
    pub fn zip_with(entries: &[&str]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for name in entries {
            w.start_file(*name, SimpleFileOptions::default()).expect("start entry");
            w.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><x/>").expect("write entry");
        }
        w.finish().expect("finish zip").into_inner()
    }

    /// An OLE2 compound file with these root streams and root class id.
    pub fn compound_file_with(streams: &[&str], clsid: uuid::Uuid) -> Vec<u8> {
        let mut f = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("create cfb");
        f.set_storage_clsid("/", clsid).expect("clsid");
        for name in streams {
            f.create_stream(format!("/{name}")).expect("stream").write_all(&[0u8; 600]).expect("write stream");
        }
        f.flush().expect("flush cfb");
        f.into_inner().into_inner()
    }

    /// An ISO-BMFF `ftyp` box with this major brand and these compatible brands, as HEIF/AVIF
    /// files begin.
    pub fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let len = 16 + 4 * compatible.len();
        let mut b = (len as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        // Some content after the box, as in a real file.
        b.extend_from_slice(&[0, 0, 0, 8, b'm', b'e', b't', b'a']);
        b
    }

    fn ext(bytes: &[u8]) -> Option<&'static str> {
        detect(bytes).map(|t| t.extension)
    }

    #[test]
    fn a_zip_listing_more_entries_than_any_office_file_is_not_read_as_one() {
        let names: Vec<String> = ["[Content_Types].xml".to_owned()]
            .into_iter()
            .chain((0..=usize::from(MAX_ZIP_ENTRIES)).map(|i| format!("word/{i}.xml")))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let huge = zip_with(&refs);
        assert_eq!(zip_entry_count(&huge), Some(MAX_ZIP_ENTRIES + 2));
        assert_eq!(ooxml_kind(&huge), None);
        assert_eq!(ooxml_kind(&zip_with(DOCX_WITH_THE_DOCUMENT_FIFTH)), Some(DOCX));
    }

    #[test]
    fn a_docx_with_the_document_as_fifth_entry_is_a_docx() {
        let docx = zip_with(DOCX_WITH_THE_DOCUMENT_FIFTH);
        assert_eq!(infer::get(&docx).map(|t| t.mime_type()), Some(ZIP.mime_type), "infer alone misses it");
        assert_eq!(detect(&docx), Some(DOCX));
    }

    #[test]
    fn a_docx_with_only_three_entries_is_a_docx() {
        let docx = zip_with(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
        assert_eq!(detect(&docx), Some(DOCX));
    }

    #[test]
    fn an_xlsx_with_the_workbook_last_is_an_xlsx() {
        let xlsx = zip_with(&[
            "_rels/.rels",
            "docProps/core.xml",
            "docProps/app.xml",
            "[Content_Types].xml",
            "xl/_rels/workbook.xml.rels",
            "xl/worksheets/sheet1.xml",
            "xl/workbook.xml",
        ]);
        assert_eq!(ext(&xlsx), Some("xlsx"));
    }

    #[test]
    fn a_pptx_with_content_types_last_is_a_pptx() {
        let pptx = zip_with(&[
            "docProps/thumbnail.jpeg",
            "ppt/slides/slide1.xml",
            "ppt/presentation.xml",
            "_rels/.rels",
            "[Content_Types].xml",
        ]);
        assert_eq!(ext(&pptx), Some("pptx"));
    }

    #[test]
    fn a_docx_in_the_order_infer_expects_stays_a_docx() {
        let docx =
            zip_with(&["[Content_Types].xml", "_rels/.rels", "word/_rels/document.xml.rels", "word/document.xml"]);
        assert_eq!(detect(&docx), Some(DOCX));
    }

    #[test]
    fn a_plain_zip_is_a_zip() {
        assert_eq!(detect(&zip_with(&["readme.txt", "bin/tool.exe"])), Some(ZIP));
        // Office folder names without the content-types part do not make a document ...
        assert_eq!(detect(&zip_with(&["_rels/.rels", "word/document.xml", "x.txt"])), Some(ZIP));
        // ... nor does a mix that no Office application writes.
        assert_eq!(detect(&zip_with(&["[Content_Types].xml", "word/document.xml", "xl/workbook.xml"])), Some(ZIP));
    }

    #[test]
    fn a_zip_starting_with_a_word_folder_but_lacking_content_types_is_no_docx() {
        // infer calls this a docx from its first entry; the listing shows it is none.
        let fake = zip_with(&["word/document.xml", "tool.exe"]);
        assert_eq!(infer::get(&fake).map(|t| t.mime_type()), Some(DOCX.mime_type));
        assert_eq!(detect(&fake), Some(ZIP));
    }

    #[test]
    fn a_docx_cut_off_before_its_listing_is_no_docx() {
        let docx = zip_with(&["word/document.xml", "[Content_Types].xml", "_rels/.rels"]);
        assert_eq!(detect(&docx), Some(DOCX));
        let cut = &docx[..docx.len() / 2];
        assert_eq!(infer::get(cut).map(|t| t.mime_type()), Some(DOCX.mime_type), "infer alone");
        assert_eq!(detect(cut), Some(ZIP));
    }

    #[test]
    fn legacy_office_files_are_recognised_by_their_class_id() {
        let word = uuid::uuid!("00020906-0000-0000-c000-000000000046");
        let excel = uuid::uuid!("00020820-0000-0000-c000-000000000046");
        let powerpoint = uuid::uuid!("64818d10-4f9b-11cf-86ea-00aa00b929e8");
        for (streams, clsid, want) in [
            (&["WordDocument", "1Table"][..], word, DOC),
            (&["Workbook"][..], excel, XLS),
            (&["PowerPoint Document", "Current User"][..], powerpoint, PPT),
        ] {
            let file = compound_file_with(streams, clsid);
            assert_eq!(infer::get(&file).map(|t| t.mime_type()), Some(want.mime_type), "infer alone");
            assert_eq!(detect(&file), Some(want));
        }
    }

    #[test]
    fn legacy_office_files_without_a_class_id_are_recognised_by_their_streams() {
        for (streams, want) in [
            (&["WordDocument", "1Table"][..], DOC),
            (&["Workbook"][..], XLS),
            (&["Book"][..], XLS),
            (&["PowerPoint Document"][..], PPT),
        ] {
            let file = compound_file_with(streams, uuid::Uuid::nil());
            assert_eq!(infer::get(&file).map(|t| t.mime_type()), Some(OLE_STORAGE.mime_type), "infer alone");
            assert_eq!(detect(&file), Some(want), "{streams:?}");
        }
    }

    #[test]
    fn other_compound_files_stay_compound_files() {
        let msi_like = compound_file_with(&["SummaryInformation", "Data"], uuid::Uuid::nil());
        assert_eq!(detect(&msi_like), Some(OLE_STORAGE));
        // Streams of several Office applications at once: none of them.
        let mixed = compound_file_with(&["WordDocument", "Workbook"], uuid::Uuid::nil());
        assert_eq!(detect(&mixed), Some(OLE_STORAGE));
    }

    #[test]
    fn phone_photos_are_heic() {
        assert_eq!(detect(&ftyp(b"heic", &[b"mif1", b"heic"])), Some(HEIC));
        assert_eq!(detect(&ftyp(b"mif1", &[b"heic"])).map(|t| t.mime_type), Some("image/heif"));
    }

    #[test]
    fn avif_ico_and_jpeg_xl_are_recognised_as_images() {
        assert_eq!(
            detect(&ftyp(b"avif", &[b"mif1", b"miaf"])),
            Some(DetectedType { mime_type: "image/avif", extension: "avif" })
        );
        // ICONDIR with one 16×16 entry.
        let ico = [0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0x68, 4, 0, 0, 22, 0, 0, 0];
        assert_eq!(detect(&ico), Some(DetectedType { mime_type: "image/vnd.microsoft.icon", extension: "ico" }));
        assert_eq!(ext(&[0xFF, 0x0A, 0xFA, 0x7F]), Some("jxl"));
    }

    #[test]
    fn svg_is_not_recognised_as_an_image() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert!(detect(svg).is_none_or(|t| !t.mime_type.starts_with("image/")), "{:?}", detect(svg));
    }
}
