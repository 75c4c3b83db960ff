//! "Did you mean …?": the nearest known name to something the user typed.

/// The candidate closest to `word`, if it is close enough to be a typo.
///
/// Closeness is Levenshtein distance: at most 1 edit for words of up to four
/// characters, 2 beyond that, so `filtr` finds `filter` but `xyz` finds nothing.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .into_iter()
        .map(|candidate| (strsim::levenshtein(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_ignores_strangers() {
        let stages = ["filter", "run", "select", "sort"];
        assert_eq!(did_you_mean("filtr", stages), Some("filter"));
        assert_eq!(did_you_mean("sotr", stages), None);
        assert_eq!(did_you_mean("srt", stages), Some("sort"));
        assert_eq!(did_you_mean("xyz", stages), None);
    }
}
