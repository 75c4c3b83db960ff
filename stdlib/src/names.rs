//! Names in messages: "unknown X" with a did-you-mean and the known names,
//! lists shortened to stay readable, and nodesets expanded to host names.

use shoal_lang::{Error, Result, Span, did_you_mean};

/// Expands a ClusterShell nodeset (already syntax-checked by the planner).
pub fn expand_nodeset(pattern: &str, span: Span) -> Result<Vec<String>> {
    let set = shoal_lang::parse_nodeset(pattern)
        .map_err(|e| shoal_lang::planner::nodeset_error(pattern, &e, span))?;
    Ok(set.iter().collect())
}

pub(crate) fn unknown_name<'a>(
    what: &str,
    written: &str,
    span: Span,
    known: impl Iterator<Item = &'a String> + Clone,
    sigil: &str,
) -> Error {
    let bare = &written[sigil.len()..];
    let mut error = Error::new(format!("unknown {what} `{written}`"), span);
    if let Some(near) = did_you_mean(bare, known.clone().map(String::as_str)) {
        error = error.with_hint(format!("did you mean '{sigil}{near}'?"));
    }
    let names: Vec<String> = known.map(|k| format!("{sigil}{k}")).collect();
    if names.is_empty() {
        error.with_hint(format!("there are no {what}s yet"))
    } else {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        error.with_hint(format!("known {what}s: {}", shorten_list(&names)))
    }
}

/// At most ten names, then a count of the rest, so a message stays readable.
pub(crate) fn shorten_list(names: &[&str]) -> String {
    const SHOWN: usize = 10;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}
