//! Stage signatures: what a stage is called and which arguments and options
//! it takes, declared once as data beside the stage's implementation.
//!
//! The grammar parses every stage the same way (a name, then its text up to
//! the next `|`); the planner checks that text against the stage's
//! [`Signature`] (see `bind.rs`), so a new stage needs no grammar rule, and
//! its errors, `help`, completion and did-you-mean all come from here.

/// One stage's declaration.
#[derive(Debug)]
pub struct Signature {
    /// The stage name as typed.
    pub name: &'static str,
    /// Other names that mean the same stage (`where` for `filter`).
    pub aliases: &'static [&'static str],
    /// What it does, in one line.
    pub summary: &'static str,
    /// More about it, for `help STAGE` and the README; may be empty.
    pub help: &'static str,
    /// The arguments, in the order they are written.
    pub params: &'static [Param],
    /// The `name=value` options, in any order after the arguments.
    pub options: &'static [Param],
    /// Whether `as NAME` may follow (to name the stage's output column).
    pub takes_as: bool,
    /// Whether the stage makes columns from the data (`kv`, `json`): the
    /// columns after it are only known once hosts have answered, so a name
    /// they are asked for cannot be checked before.
    pub data_columns: bool,
}

/// One argument or option of a stage.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// How usage shows it: `N`, `COL`, `"CMD"`.
    pub placeholder: &'static str,
    /// For an argument: whether it may be left out.
    pub required: bool,
    /// An argument introduced by a word, as in `count by COL`.
    pub keyword: Option<&'static str>,
    /// For an option: the value it has when not given, written as a user
    /// would write it. `None` leaves the option unset.
    pub default: Option<&'static str>,
    /// A value hints show: `for example: head 10`.
    pub example: &'static str,
    /// One line on what it means, for `help STAGE`.
    pub doc: &'static str,
}

/// The type of an argument or option, checked by the planner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A quoted string: a command, a `parse` pattern.
    Text,
    /// A whole number no smaller than `min`, of `unit` (`rows`; may be
    /// empty), which errors name: "needs a whole number of rows".
    Int { min: u64, unit: &'static str },
    /// `N` rows or `N%` of them: at least one row, at most 100%.
    Rows,
    /// A duration longer than zero: `500ms`, `5s`, `2m`.
    Duration,
    /// A percentage from 0 to 100: `10%` or `10`.
    Percent,
    /// A number the stage checks itself, with its own message.
    Number,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// Words separated by `,` with no blanks (`packages,sysctl`,
    /// `/etc/app,/opt/x/conf`), or one quoted string; the stage splits and
    /// checks them.
    Words,
    /// A column name.
    Column,
    /// Column names separated by `,`, each given once.
    Columns,
    /// `COL [desc|asc], ...`
    SortKeys,
    /// A condition such as `az = us-east-1a and exit != 0`.
    Predicate,
    /// `/regex/`, known to compile.
    Regex,
    /// Two populations: `$bad $good`, `@canary @web`, `bad good`.
    Sides,
}

impl Param {
    /// A required argument.
    pub const fn arg(name: &'static str, kind: Kind, placeholder: &'static str) -> Param {
        Param {
            name,
            kind,
            placeholder,
            required: true,
            keyword: None,
            default: None,
            example: "",
            doc: "",
        }
    }

    /// A `name=value` option.
    pub const fn option(name: &'static str, kind: Kind, placeholder: &'static str) -> Param {
        Param {
            required: false,
            ..Param::arg(name, kind, placeholder)
        }
    }

    /// Makes an argument optional.
    pub const fn optional(self) -> Param {
        Param {
            required: false,
            ..self
        }
    }

    /// Introduces the argument with a word: `by`, `where`.
    pub const fn after(self, keyword: &'static str) -> Param {
        Param {
            keyword: Some(keyword),
            ..self
        }
    }

    pub const fn default(self, value: &'static str) -> Param {
        Param {
            default: Some(value),
            ..self
        }
    }

    pub const fn example(self, value: &'static str) -> Param {
        Param {
            example: value,
            ..self
        }
    }

    pub const fn doc(self, doc: &'static str) -> Param {
        Param { doc, ..self }
    }

    /// How the parameter reads in a usage line: `[by COL, ...]`, `[seed=N]`.
    pub fn usage(&self, is_option: bool) -> String {
        let body = match (is_option, self.keyword) {
            (true, _) => format!("{}={}", self.name, self.placeholder),
            (false, Some(keyword)) => format!("{keyword} {}", self.placeholder),
            (false, None) => self.placeholder.to_string(),
        };
        if self.required && !is_option {
            body
        } else {
            format!("[{body}]")
        }
    }
}

impl Signature {
    /// The syntax line `help` shows: `outliers COL [by COL, ...] [keep=WORD]`.
    pub fn usage(&self) -> String {
        let mut parts = vec![self.name.to_string()];
        parts.extend(self.params.iter().map(|p| p.usage(false)));
        parts.extend(self.options.iter().map(|p| p.usage(true)));
        if self.takes_as {
            parts.push("[as NAME]".to_string());
        }
        parts.join(" ")
    }

    /// The name and every alias.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }

    pub fn option(&self, name: &str) -> Option<&'static Param> {
        self.options.iter().find(|o| o.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_reads_as_written() {
        static SIG: Signature = Signature {
            name: "outliers",
            aliases: &[],
            summary: "",
            help: "",
            params: &[
                Param::arg("column", Kind::Column, "COL"),
                Param::arg("by", Kind::Columns, "COL, ...")
                    .optional()
                    .after("by"),
            ],
            options: &[Param::option("keep", Kind::Choice(&["all"]), "all")],
            takes_as: true,
            data_columns: false,
        };
        assert_eq!(
            SIG.usage(),
            "outliers COL [by COL, ...] [keep=all] [as NAME]"
        );
    }
}
