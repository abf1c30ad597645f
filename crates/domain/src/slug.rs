//! URL slugs for caregiver profile paths (`koeln/kleine-strolche`).

/// Lower-cases, applies the German rules (`ä`→`ae`, `ö`→`oe`, `ü`→`ue`, `ß`→`ss`, also for umlauts
/// written as a vowel plus combining diaeresis), transliterates other letters to ASCII (`é`→`e`,
/// `ç`→`c`, `ø`→`o`, `ł`→`l`, `İ`→`i`, Cyrillic, Greek, CJK …), drops combining marks and invisible
/// characters such as soft hyphens, turns every other run of characters (punctuation, symbols,
/// emoji) into one `-` and trims dashes. May return an empty string.
pub fn slugify(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_dash = false;
    let push = |piece: &str, out: &mut String, pending_dash: &mut bool| {
        for c in piece.chars() {
            if c.is_ascii_alphanumeric() {
                if *pending_dash && !out.is_empty() {
                    out.push('-');
                }
                *pending_dash = false;
                out.push(c.to_ascii_lowercase());
            } else {
                *pending_dash = true;
            }
        }
    };
    for ch in input.chars().flat_map(char::to_lowercase) {
        // The German rules come first: a general transliteration would make `ä` an `a`.
        let german = match ch {
            'ä' => Some("ae"),
            'ö' => Some("oe"),
            'ü' => Some("ue"),
            'ß' => Some("ss"),
            // A decomposed umlaut (`o` + U+0308, as macOS sends it) is an umlaut too.
            '\u{308}' if !pending_dash && out.ends_with(['a', 'o', 'u']) => Some("e"),
            _ => None,
        };
        if let Some(piece) = german {
            push(piece, &mut out, &mut pending_dash);
        } else if ch.is_ascii() {
            let mut buf = [0u8; 4];
            push(ch.encode_utf8(&mut buf), &mut out, &mut pending_dash);
        } else {
            match deunicode::deunicode_char(ch) {
                // Combining marks (the dot of `İ` lower-cased to `i̇`), soft hyphens, joiners:
                // part of the letter or word they sit in, never a separator.
                Some("") if !ch.is_control() => {}
                Some(ascii) if ch.is_alphanumeric() => push(ascii, &mut out, &mut pending_dash),
                // Symbols and emoji separate words rather than turning into words (`★`, `😀`).
                _ => pending_dash = true,
            }
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
    fn the_turkish_dotted_capital_i_is_a_plain_i() {
        assert_eq!(slugify("İstanbul"), "istanbul");
        assert_eq!(slugify("DİYARBAKIR"), "diyarbakir");
    }

    #[test]
    fn other_latin_diacritics_are_folded_to_their_base_letter() {
        assert_eq!(slugify("Café Crème"), "cafe-creme");
        assert_eq!(slugify("Françoise"), "francoise");
        assert_eq!(slugify("España Niño"), "espana-nino");
        assert_eq!(slugify("Øresund Ålesund"), "oresund-alesund");
        assert_eq!(slugify("Łódź Kraków"), "lodz-krakow");
        assert_eq!(slugify("Ærø"), "aero");
        assert_eq!(slugify("Москва"), "moskva");
    }

    #[test]
    fn decomposed_umlauts_follow_the_german_rules_and_other_marks_vanish() {
        assert_eq!(slugify("Ko\u{308}ln"), "koeln");
        assert_eq!(slugify("Zwergenho\u{308}hle Su\u{308}d"), "zwergenhoehle-sued");
        assert_eq!(slugify("Cafe\u{301}"), "cafe");
        assert_eq!(slugify("Noe\u{308}l"), "noel");
    }

    #[test]
    fn invisible_characters_do_not_split_words_but_symbols_and_emoji_do() {
        assert_eq!(slugify("Kinder\u{AD}garten"), "kindergarten");
        assert_eq!(slugify("Kita 🌞 Sonne"), "kita-sonne");
        assert_eq!(slugify("Sonne★Mond"), "sonne-mond");
        assert_eq!(slugify("a\u{85}b"), "a-b");
        assert_eq!(slugify("ẞ"), "ss");
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

        #[test]
        fn combining_marks_never_split_a_word(
            a in "[a-z]{1,8}",
            // U+0363 and up are combining *letters* (a, e, i …): those are kept as letters.
            mark in (0x300u32..=0x362).prop_filter("the diaeresis makes umlauts", |c| *c != 0x308),
            b in "[a-z]{1,8}",
        ) {
            let mark = char::from_u32(mark).unwrap_or_else(|| unreachable!("combining marks are chars"));
            prop_assert_eq!(slugify(&format!("{a}{mark}{b}")), format!("{a}{b}"));
        }
    }
}
