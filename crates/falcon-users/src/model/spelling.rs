//! "Did you mean": the known word closest to a mistyped one (a role name, a column header), so
//! that every refusal of a name offers the same kind of correction.

/// The candidate closest to `word` (ignoring case), when it is close enough to be a typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::normalized_damerau_levenshtein(&lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// `"; did you mean X?"` for the candidate closest to `word`, else nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean {c}?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_candidate_near_enough_is_offered() {
        let headers = ["Email", "First Name", "Last Name", "Department"];
        for (word, want) in [
            ("Emial", Some("Email")),
            ("first name", Some("First Name")),
            ("lastname", Some("Last Name")),
            ("Title", None),
            ("", None),
        ] {
            assert_eq!(closest(word, headers), want, "{word}");
        }
        assert_eq!(
            did_you_mean("frist_name", ["first_name", "last_name"]),
            "; did you mean first_name?"
        );
        assert_eq!(did_you_mean("zzz", ["uid"]), "");
    }
}
