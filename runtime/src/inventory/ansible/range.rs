//! Ansible's host ranges, as its INI and YAML inventories write them:
//! `web[01:20].example.com` (numbers; a leading zero pads every name to the
//! width of the bounds), `db-[a:c]` (single letters), `[1:9:2]` (a stride),
//! `[:3]` (from 0). A pattern may have several ranges; brackets without a
//! `:` are left as they are, as Ansible leaves them.

use crate::inventory::hosts::MAX_INVENTORY_HOSTS;

/// Every name `pattern` stands for, in order. `Err` says what is wrong with
/// a range, or that the pattern names too many hosts.
pub(super) fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut rest = pattern;
    while let Some((head, bounds, tail)) = next_range(rest) {
        parts.push(vec![head.to_string()]);
        parts.push(values(bounds)?);
        rest = tail;
    }
    parts.push(vec![rest.to_string()]);

    let total = parts
        .iter()
        .map(|p| p.len() as u64)
        .fold(1u64, u64::saturating_mul);
    if total > MAX_INVENTORY_HOSTS {
        return Err(format!(
            "`{pattern}` names more than {MAX_INVENTORY_HOSTS} hosts"
        ));
    }
    let mut names = vec![String::new()];
    for part in &parts {
        names = names
            .iter()
            .flat_map(|name| part.iter().map(move |value| format!("{name}{value}")))
            .collect();
    }
    Ok(names)
}

/// The text before the first `[a:b]`, what is inside it, and what follows.
fn next_range(text: &str) -> Option<(&str, &str, &str)> {
    let mut from = 0;
    while let Some(open) = text[from..].find('[').map(|i| from + i) {
        let close = open + text[open..].find(']')?;
        let inside = &text[open + 1..close];
        if inside.contains(':') {
            return Some((&text[..open], inside, &text[close + 1..]));
        }
        from = close + 1;
    }
    None
}

/// The values of one range, `begin:end` or `begin:end:stride`.
fn values(bounds: &str) -> Result<Vec<String>, String> {
    let fields: Vec<&str> = bounds.split(':').collect();
    let (begin, end, stride) = match fields[..] {
        [begin, end] => (begin, end, "1"),
        [begin, end, stride] => (begin, end, stride),
        _ => {
            return Err(format!(
                "`[{bounds}]`: a range is [begin:end] or [begin:end:stride]"
            ));
        }
    };
    let begin = if begin.is_empty() { "0" } else { begin };
    if end.is_empty() {
        return Err(format!("`[{bounds}]`: the range has no end"));
    }
    let stride = match stride.parse::<usize>() {
        Ok(stride) if stride > 0 => stride,
        _ => {
            return Err(format!(
                "`[{bounds}]`: the stride `{stride}` is not a number above 0"
            ));
        }
    };
    let backwards = || format!("`[{bounds}]`: the range ends before it begins");

    if let (Some(first), Some(last)) = (letter(begin), letter(end)) {
        if first > last {
            return Err(backwards());
        }
        return Ok((first..=last)
            .step_by(stride)
            .map(|c| char::from(c).to_string())
            .collect());
    }
    let number = |text: &str| {
        text.parse::<u64>()
            .map_err(|_| format!("`[{bounds}]`: `{text}` is neither a number nor one letter"))
    };
    let (first, last) = (number(begin)?, number(end)?);
    if first > last {
        return Err(backwards());
    }
    // `[01:20]` pads to the bounds' width; `[1:20]` does not pad.
    let width = if begin.len() > 1 && begin.starts_with('0') {
        if begin.len() != end.len() {
            return Err(format!(
                "`[{bounds}]`: a zero-padded range needs bounds of one width"
            ));
        }
        begin.len()
    } else {
        0
    };
    let count = ((last - first) / stride as u64).saturating_add(1);
    if count > MAX_INVENTORY_HOSTS {
        return Err(format!(
            "`[{bounds}]` names more than {MAX_INVENTORY_HOSTS} hosts"
        ));
    }
    Ok((first..=last)
        .step_by(stride)
        .map(|n| format!("{n:0width$}"))
        .collect())
}

/// `text` as one ASCII letter, if it is one.
fn letter(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [c] if c.is_ascii_alphabetic() => Some(*c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ranges_keep_their_padding() {
        assert_eq!(
            expand("web[01:03].example.com").unwrap(),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(expand("n[8:10]").unwrap(), ["n8", "n9", "n10"]);
        assert_eq!(expand("n[:2]").unwrap(), ["n0", "n1", "n2"]);
        assert_eq!(expand("n[001:010:4]").unwrap(), ["n001", "n005", "n009"]);
    }

    #[test]
    fn letters_several_ranges_and_plain_names() {
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand("[a:e:2]x").unwrap(), ["ax", "cx", "ex"]);
        assert_eq!(
            expand("r[1:2]n[a:b]").unwrap(),
            ["r1na", "r1nb", "r2na", "r2nb"]
        );
        assert_eq!(expand("web1").unwrap(), ["web1"]);
        assert_eq!(expand("odd[1]name").unwrap(), ["odd[1]name"]);
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        let error = |p: &str| expand(p).unwrap_err();
        assert_eq!(error("w[3:1]"), "`[3:1]`: the range ends before it begins");
        assert_eq!(error("w[1:]"), "`[1:]`: the range has no end");
        assert_eq!(
            error("w[1:5:0]"),
            "`[1:5:0]`: the stride `0` is not a number above 0"
        );
        assert_eq!(
            error("w[01:100]"),
            "`[01:100]`: a zero-padded range needs bounds of one width"
        );
        assert_eq!(
            error("w[a:9]"),
            "`[a:9]`: `a` is neither a number nor one letter"
        );
        assert_eq!(
            error("w[1:2:3:4]"),
            "`[1:2:3:4]`: a range is [begin:end] or [begin:end:stride]"
        );
        assert_eq!(
            error("w[1:99999999]"),
            "`[1:99999999]` names more than 100000 hosts"
        );
        assert_eq!(
            error("w[1:100]x[1:1001]"),
            "`w[1:100]x[1:1001]` names more than 100000 hosts"
        );
    }
}
