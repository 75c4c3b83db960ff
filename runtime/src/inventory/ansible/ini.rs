//! Ansible's INI inventory, read line by line as Ansible's `ini` plugin
//! reads it:
//!
//! ```ini
//! bastion.example.com            # before any section: ungrouped
//! [web]
//! web[01:20].example.com:2222 ansible_user=ops role="front end"
//! [web:vars]
//! ansible_port=2222
//! [prod:children]
//! web
//! ```
//!
//! A host line is a name (with ranges, and an optional `:port`) and then
//! `key=value` words, quoted and commented as a shell would (`#` starts a
//! comment at the start of a word). A `:vars` line is `key=value`, where the
//! value is the rest of the line, without surrounding quotes or a trailing
//! ` # comment`. Lines starting with `#` or `;` are comments. A value is
//! then read as Ansible's `ast.literal_eval` reads the simple ones: `22` is
//! a number, `True`, `False` and `None` are true, false and null (a quoted
//! `:vars` value stays text).
//!
//! As in Ansible, a group named in `[parent:children]`, or given
//! `[group:vars]`, must be declared by a `[group]` or `[group:children]`
//! header somewhere in the file (or by a source read before it): otherwise
//! the file is refused, at the line that names the group. Ansible rejects
//! such a file too (it then skips the file with a warning; shoal stops,
//! since running on part of an inventory runs on the wrong hosts).

use std::collections::HashSet;

use indexmap::IndexMap;
use serde_json::Value;

use super::{Model, UNGROUPED, Var, range};
use crate::inventory::InventoryResult;
use crate::inventory::error::{Place, Source, lines};
use crate::inventory::hosts::{Read, split_outside_brackets};

/// What the lines under a header are.
enum Section {
    Hosts(String),
    Children(String),
    Vars(String),
}

pub(in crate::inventory) fn read(source: Source) -> InventoryResult<Read> {
    model(source, &Model::default())?
        .beside(source.path)
        .resolve(source)
}

/// A group named before any header declares it, as Ansible's
/// `pending_declarations` keeps it.
enum Pending {
    /// Named in `[parent:children]` at byte `at`.
    Child { parent: String, at: usize },
    /// Given `[group:vars]` at byte `at`.
    Vars { at: usize },
}

/// The inventory as written, to resolve alone or merged with others;
/// `before` holds the sources read before it, whose groups it may name.
pub(in crate::inventory) fn model(source: Source, before: &Model) -> InventoryResult<Model> {
    let mut model = Model::default();
    let mut section = Section::Hosts(UNGROUPED.to_string());
    let mut declared: HashSet<String> = HashSet::new();
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    for (start, line) in lines(source.text) {
        let text = line.trim();
        let at = start + (line.len() - line.trim_start().len());
        if text.is_empty() || text.starts_with(['#', ';']) {
            continue;
        }
        if text.starts_with('[') {
            section = header(text).map_err(|reason| source.at(at, reason))?;
            let (Section::Hosts(group) | Section::Children(group) | Section::Vars(group)) =
                &section;
            let is_vars = matches!(section, Section::Vars(_));
            if !before.knows(group) && declared.insert(group.clone()) && is_vars {
                pending
                    .entry(group.clone())
                    .or_insert(Pending::Vars { at: at + 1 });
            }
            if !is_vars {
                pending.shift_remove(group);
            }
            model.group(group, &Place::Offset(at + 1));
            continue;
        }
        match &section {
            Section::Hosts(group) => host_line(source, &mut model, group, text, at)?,
            Section::Children(group) => match &words(source, text, at)?[..] {
                [(offset, child)] => {
                    if !before.knows(child) && !declared.contains(child) {
                        let parent = group.clone();
                        pending.insert(
                            child.clone(),
                            Pending::Child {
                                parent,
                                at: *offset,
                            },
                        );
                    }
                    model.add_child(group, child, &Place::Offset(*offset));
                }
                [_, (offset, extra), ..] => {
                    return Err(source.at(
                        *offset,
                        format!("`{extra}`: [{group}:children] takes one group name per line"),
                    ));
                }
                [] => {}
            },
            Section::Vars(group) => {
                let (key, value, value_at) = var_line(text)
                    .map_err(|reason| source.at(at, format!("[{group}:vars]: {reason}")))?;
                let var = Var {
                    value,
                    at: Place::Offset(at + value_at),
                };
                model.group(group, &Place::Offset(at)).vars.insert(key, var);
            }
        }
    }
    match pending.into_iter().next() {
        None => Ok(model),
        Some((group, Pending::Child { parent, at })) => Err(source.at(
            at,
            format!(
                "[{parent}:children] names the group `{group}`, which this inventory never \
                 declares; add a [{group}] section (Ansible refuses this file too)"
            ),
        )),
        Some((group, Pending::Vars { at })) => Err(source.at(
            at,
            format!(
                "[{group}:vars] sets variables of the group `{group}`, which this inventory \
                 never declares; add a [{group}] section (Ansible refuses this file too)"
            ),
        )),
    }
}

/// A value as Ansible's `ast.literal_eval` reads the simple ones: a whole
/// or decimal number, `True`, `False`, `None`; anything else is text.
/// Python's own forms (`0x10`, `1_000`, lists) are not read: they stay text.
fn literal(text: &str) -> Value {
    match text {
        "True" => return Value::Bool(true),
        "False" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    // Python refuses a leading zero (`007`), which then stays text.
    let number = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0."));
    if number {
        let parsed = match digits.contains('.') {
            false => text.parse::<i64>().ok().map(Value::from),
            true => text
                .parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)),
        };
        if let Some(value) = parsed {
            return value;
        }
    }
    Value::String(text.to_string())
}

/// `[name]`, `[name:vars]` or `[name:children]`, and an optional comment.
fn header(line: &str) -> Result<Section, String> {
    let close = line
        .find(']')
        .ok_or("a section header needs its closing `]`")?;
    let after = line[close + 1..].trim_start();
    if !after.is_empty() && !after.starts_with(['#', ';']) {
        return Err(format!("unexpected `{after}` after the section header"));
    }
    let inside = &line[1..close];
    let (name, kind) = match inside.split_once(':') {
        Some((name, kind)) => (name, Some(kind)),
        None => (inside, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("`[{inside}]` needs a group name without spaces"));
    }
    let name = name.to_string();
    match kind {
        None => Ok(Section::Hosts(name)),
        Some("vars") => Ok(Section::Vars(name)),
        Some("children") => Ok(Section::Children(name)),
        Some(other) => Err(format!(
            "`[{inside}]`: unknown section kind `{other}`; write [{name}], [{name}:vars] \
             or [{name}:children]"
        )),
    }
}

/// `name[:port] key=value …` in group `group`; `at` is the line's offset.
fn host_line(
    source: Source,
    model: &mut Model,
    group: &str,
    line: &str,
    at: usize,
) -> InventoryResult<()> {
    let words = words(source, line, at)?;
    let Some(((pattern_at, pattern), vars)) = words.split_first() else {
        return Ok(());
    };
    let (pattern, port) = split_port(pattern);
    let names = range::expand(pattern).map_err(|reason| source.at(*pattern_at, reason))?;
    model
        .room_for(names.len())
        .map_err(|reason| source.at(*pattern_at, reason))?;
    let mut own = Vec::new();
    if let Some(port) = port {
        let port_at = pattern_at + pattern.len() + 1;
        own.push(("ansible_port", port, port_at));
    }
    for (word_at, word) in vars {
        let Some((key, value)) = word.split_once('=').filter(|(key, _)| !key.is_empty()) else {
            return Err(source.at(
                *word_at,
                format!("expected `key=value` after the host name, found `{word}`"),
            ));
        };
        own.push((key, value, word_at + key.len() + 1));
    }
    let host_at = Place::Offset(*pattern_at);
    for name in names {
        let vars = model.add_host(group, &name, &host_at);
        for (key, value, value_at) in &own {
            let var = Var {
                value: literal(value),
                at: Place::Offset(*value_at),
            };
            vars.insert(key.to_string(), var);
        }
    }
    Ok(())
}

/// `web1:2222` is `web1` on port 2222; an IPv6 address keeps its colons.
fn split_port(pattern: &str) -> (&str, Option<&str>) {
    match pattern.rsplit_once(':') {
        Some((name, port))
            if !name.is_empty()
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && split_outside_brackets(name, &[':']).len() == 1 =>
        {
            (name, Some(port))
        }
        _ => (pattern, None),
    }
}

/// `key=value` of a `:vars` section: the key, the value and the value's
/// offset in the line.
fn var_line(line: &str) -> Result<(String, Value, usize), String> {
    let (key, raw) = line
        .split_once('=')
        .ok_or_else(|| format!("expected `key=value`, found `{line}`"))?;
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!("`{}` is not a variable name", key));
    }
    let value_at = line.len() - raw.trim_start().len();
    let raw = raw.trim();
    let quoted = raw
        .chars()
        .next()
        .filter(|q| matches!(q, '"' | '\''))
        .and_then(|q| raw[1..].find(q).map(|end| &raw[1..=end]));
    let value = match quoted {
        Some(inside) => Value::String(inside.to_string()),
        None => literal(match raw.find(" #").or_else(|| raw.find("\t#")) {
            Some(comment) => raw[..comment].trim_end(),
            None => raw,
        }),
    };
    Ok((key.to_string(), value, value_at))
}

/// The words of `line` (at byte `at` of the text), each with its offset:
/// split at whitespace, grouped by `'…'` and `"…"` (where `\` escapes),
/// `\` escaping one character outside quotes, and ended by a `#` that starts
/// a word.
fn words(source: Source, line: &str, at: usize) -> InventoryResult<Vec<(usize, String)>> {
    let mut words = Vec::new();
    let mut word: Option<(usize, String)> = None;
    let mut quote: Option<(char, usize)> = None;
    // The character a `\` escapes: the next one, or the `\` itself at the end.
    fn escaped(chars: &mut std::str::CharIndices) -> char {
        chars.next().map_or('\\', |(_, c)| c)
    }
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some((q, _)), c) if c == q => quote = None,
            (Some(('"', _)), '\\') => {
                let next = escaped(&mut chars);
                word.get_or_insert((at + i, String::new())).1.push(next);
            }
            (Some(_), c) => word.get_or_insert((at + i, String::new())).1.push(c),
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, '#') if word.is_none() => break,
            (None, '\'' | '"') => {
                word.get_or_insert((at + i, String::new()));
                quote = Some((c, i));
            }
            (None, '\\') => {
                let next = escaped(&mut chars);
                word.get_or_insert((at + i, String::new())).1.push(next);
            }
            (None, c) => word.get_or_insert((at + i, String::new())).1.push(c),
        }
    }
    if let Some((q, i)) = quote {
        return Err(source.at(at + i, format!("this {q} is never closed")));
    }
    words.extend(word);
    Ok(words)
}
