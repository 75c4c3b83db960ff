//! One line of ssh_config split as OpenSSH's readconf.c splits it: the
//! keyword (up to whitespace or one `=`), then its arguments, with double or
//! single quotes and backslash escapes, up to a `#` that starts a comment.

/// A line's keyword as written and the text after it (`Keyword value`,
/// `Keyword=value`, `Keyword = value`); `None` for a blank or comment line.
/// An empty rest is a keyword without its value.
pub(super) fn keyword(line: &str) -> Option<(&str, &str)> {
    // readconf.c trims trailing whitespace, and a form feed at the end.
    let line = line.trim_end_matches([' ', '\t', '\r', '\n', '\x0c']);
    let (word, rest) = strdelim(line.trim_start_matches(WHITESPACE)).ok()??;
    if word.is_empty() || word.starts_with('#') {
        return None;
    }
    Some((word, rest))
}

const WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// OpenSSH's `strdelim()`: the first word of `text` and the rest after it.
/// A word ends at whitespace, a double quote or an `=`; one `=` between two
/// words counts as whitespace. A word in double quotes is taken whole.
/// `Err` for a quote that is not closed; `Ok(None)` at the end of the text.
pub(super) fn strdelim(text: &str) -> Result<Option<(&str, &str)>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    let Some(at) = text.find([' ', '\t', '\r', '\n', '"', '=']) else {
        return Ok(Some((text, "")));
    };
    if text[at..].starts_with('"') {
        // `"web 1"`: the quoted text is the word (what comes before the
        // quote, if anything, is dropped as readconf.c's memmove drops it).
        let quoted = &text[at + 1..];
        let close = quoted.find('"').ok_or(())?;
        let rest = quoted[close + 1..].trim_start_matches(WHITESPACE);
        return Ok(Some((&quoted[..close], rest)));
    }
    let word = &text[..at];
    let was_equals = text[at..].starts_with('=');
    let mut rest = text[at + 1..].trim_start_matches(WHITESPACE);
    if !was_equals && let Some(after) = rest.strip_prefix('=') {
        rest = after.trim_start_matches(WHITESPACE);
    }
    Ok(Some((word, rest)))
}

/// OpenSSH's `argv_split()`: the arguments of a line, split at spaces and
/// tabs, with `"..."` and `'...'` quoting and `\"`, `\'`, `\\` and `\ `
/// escapes, stopping at a `#` between arguments. `Err` for a quote left open.
pub(super) fn arguments(text: &str) -> Result<Vec<String>, ()> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(args),
            Some(_) => {}
        }
        let mut arg = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => match chars.peek() {
                    Some(&next @ ('\'' | '"' | '\\')) => {
                        arg.push(next);
                        chars.next();
                    }
                    Some(' ') if quote.is_none() => {
                        arg.push(' ');
                        chars.next();
                    }
                    // An escape OpenSSH does not know stays as written.
                    _ => arg.push('\\'),
                },
                (' ' | '\t', None) => break,
                ('"' | '\'', None) => quote = Some(c),
                (_, Some(open)) if c == open => quote = None,
                _ => arg.push(c),
            }
        }
        if quote.is_some() {
            return Err(());
        }
        args.push(arg);
    }
}
