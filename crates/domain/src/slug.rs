//! URL slugs for caregiver profile paths (`koeln/kleine-strolche`).

/// Lower-cases, transliterates German umlauts and ß, turns every other non-alphanumeric run into
/// one `-` and trims dashes. Characters outside ASCII that have no transliteration are dropped as
/// separators. May return an empty string.
pub fn slugify(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_dash = false;
    for ch in input.chars().flat_map(char::to_lowercase) {
        let piece: Option<&str> = match ch {
            'ä' => Some("ae"),
            'ö' => Some("oe"),
            'ü' => Some("ue"),
            'ß' => Some("ss"),
            _ => None,
        };
        let mut push = |s: &str, out: &mut String| {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push_str(s);
        };
        if let Some(p) = piece {
            push(p, &mut out);
        } else if ch.is_ascii_alphanumeric() {
            let mut buf = [0u8; 4];
            push(ch.encode_utf8(&mut buf), &mut out);
        } else {
            pending_dash = true;
        }
    }
    out
}

/// The fallback city slug when a caregiver has no usable city.
pub const CITY_FALLBACK: &str = "unbekannt";
/// The fallback daycare slug when neither daycare name nor person name give one.
pub const DAYCARE_FALLBACK: &str = "kindertagespflege";

/// A caregiver's public profile path `<citySlug>/<daycareSlug>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePath {
    pub city_slug: String,
    pub daycare_slug: String,
}

impl ProfilePath {
    /// The path for a caregiver's city, daycare name and person name, before uniqueness.
    pub fn for_caregiver(city: Option<&str>, daycare_name: Option<&str>, name: Option<&str>) -> Self {
        let city_slug = non_empty(city.map(slugify)).unwrap_or_else(|| CITY_FALLBACK.to_owned());
        let daycare_slug = non_empty(daycare_name.map(slugify))
            .or_else(|| non_empty(name.map(slugify)))
            .unwrap_or_else(|| DAYCARE_FALLBACK.to_owned());
        Self { city_slug, daycare_slug }
    }

    /// The same path with `-n` appended to the daycare slug (`n ≥ 2`); `n ≤ 1` is the path itself.
    pub fn with_suffix(&self, n: u32) -> Self {
        if n <= 1 {
            return self.clone();
        }
        Self { city_slug: self.city_slug.clone(), daycare_slug: format!("{}-{n}", self.daycare_slug) }
    }

    /// `citySlug/daycareSlug`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.city_slug, self.daycare_slug)
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn german_characters_are_transliterated() {
        assert_eq!(slugify("Köln"), "koeln");
        assert_eq!(slugify("Zwergenhöhle Süd"), "zwergenhoehle-sued");
        assert_eq!(slugify("Straße"), "strasse");
        assert_eq!(slugify("ÄRGER"), "aerger");
    }

    #[test]
    fn punctuation_and_repeated_dashes_collapse() {
        assert_eq!(slugify("  Kleine -- Strolche!!  (Köln) "), "kleine-strolche-koeln");
        assert_eq!(slugify("---a---b---"), "a-b");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn empty_input_falls_back() {
        let p = ProfilePath::for_caregiver(Some("  "), None, Some("!!"));
        assert_eq!(p.path(), "unbekannt/kindertagespflege");
        let p = ProfilePath::for_caregiver(Some("Köln"), Some(""), Some("Sabine Muster"));
        assert_eq!(p.path(), "koeln/sabine-muster");
    }

    #[test]
    fn suffixes_start_at_two() {
        let p = ProfilePath::for_caregiver(Some("Köln"), Some("Zwergenhöhle"), None);
        assert_eq!(p.with_suffix(1).path(), "koeln/zwergenhoehle");
        assert_eq!(p.with_suffix(2).path(), "koeln/zwergenhoehle-2");
        assert_eq!(p.with_suffix(3).path(), "koeln/zwergenhoehle-3");
    }

    proptest! {
        #[test]
        fn slugs_only_hold_lowercase_alphanumerics_and_single_inner_dashes(s in "\\PC{0,40}") {
            let slug = slugify(&s);
            prop_assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-'));
            prop_assert!(!slug.contains("--"));
            prop_assert_eq!(slugify(&slug), slug.clone());
        }
    }
}
